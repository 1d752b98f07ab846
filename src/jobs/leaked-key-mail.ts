import type { LeakedKeyNotice } from '../clients/leaks.js';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { TeamStore } from '../teams/store.js';
import type { Mailer } from './mailer.js';
import { adminEmails } from './team-admins.js';

/**
 * Mails each team's admins of its keys a secret scanner reported (issue 28
 * item 4): which key, where it was found, and whether it was revoked or only
 * flagged. One mail per team and report; never the secret. Sent after the
 * change committed and off the answer's path: a failure is logged, the
 * revocation, audit row and `key.leaked` webhook stand.
 */
export function leakedKeyMailer(config: Config, teams: TeamStore, mailer: Mailer | undefined, logger: Logger) {
  const issuer = config.issuer.replace(/\/$/, '');
  async function mailTeam(teamId: number, notices: readonly LeakedKeyNotice[]) {
    const to = await adminEmails(teams, teamId);
    if (!to.length || !mailer) return;
    const revoked = notices.filter((n) => n.action === 'revoked').length;
    const lines = notices.flatMap((n) => [
      `- ${n.name ?? n.clientId} (${n.environment}, client_id ${n.clientId}): ${n.action === 'revoked' ? 'REVOKED, it no longer works' : 'flagged, it STILL WORKS'}`,
      `  found by ${n.scanner === 'github' ? "GitHub's secret scanning" : "the operator's scanner"}${n.source ? ` in ${n.source}` : ''}: ${n.url || 'no address given'}`,
    ]);
    await mailer.send({
      to,
      subject:
        notices.length === 1
          ? `keyport: your key ${notices[0]!.name ?? notices[0]!.clientId} was found in public`
          : `keyport: ${notices.length} of your keys were found in public`,
      text: [
        'A secret scanner found these keys of your team in public:',
        '',
        ...lines,
        '',
        revoked === notices.length
          ? 'Each was revoked at once. Make a new key (or rotate this one) and remove the old one from where it was found.'
          : 'Your team only flags leaked keys: rotate each flagged key now, then remove it from where it was found.',
        `Keys: ${issuer}/dashboard`,
      ].join('\n'),
    });
  }

  return (notices: readonly LeakedKeyNotice[]) => {
    const byTeam = new Map<number, LeakedKeyNotice[]>();
    for (const n of notices) byTeam.set(n.teamId, [...(byTeam.get(n.teamId) ?? []), n]);
    for (const [teamId, list] of byTeam) {
      mailTeam(teamId, list).catch((err: Error) =>
        logger.error({ team_id: teamId, err: { message: err.message } }, 'mailing the admins of a leaked key failed'),
      );
    }
  };
}
