import type { Config } from '../config.js';
import type { TeamStore } from '../teams/store.js';
import type { Mailer } from './mailer.js';
import { adminEmails } from './team-admins.js';

/**
 * Mails a team's admins that one of their webhook endpoints was disabled
 * (issue 26 item 4). Names the endpoint by its address without its query
 * (which may hold a token of the receiver's) and says how to bring it back;
 * never the signing secret. A product-wide endpoint has no team to tell: it
 * is logged only.
 */
export function webhookDisabledMailer(config: Config, teams: TeamStore, mailer: Mailer | undefined) {
  return async (endpoint: { id: string; teamId: number | null; url: string; failingSince: number }) => {
    if (!mailer || endpoint.teamId === null) return;
    const to = await adminEmails(teams, endpoint.teamId);
    if (!to.length) return;
    const address = new URL(endpoint.url);
    const shown = `${address.protocol}//${address.host}${address.pathname}`;
    const issuer = (config.issuer ?? '').replace(/\/$/, '');
    await mailer.send({
      to,
      subject: `keyport: the webhook endpoint ${address.host} was disabled`,
      text: [
        `The webhook endpoint ${shown} (id ${endpoint.id}) has failed every delivery since`,
        `${new Date(endpoint.failingSince).toISOString()}, for longer than keyport retries, and was disabled:`,
        'it hears no new events.',
        '',
        'Once it answers again, send one of its deliveries again',
        `(POST ${issuer}/api/teams/${endpoint.teamId}/webhooks/${endpoint.id}/deliveries/:delivery_id/retry):`,
        'a delivery that succeeds enables the endpoint again.',
      ].join('\n'),
    });
  };
}
