import { createHash } from 'node:crypto';
import type { AuditStore } from '../audit/audit.js';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import { ReplayedRequest } from '../errors.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { ClientRecord } from './client.js';
import type { LeakedKeyAction, LeakScanner, LeakStore } from './leak-store.js';
import { hasValidChecksum, keyDigest, looksGenerated, looksLikeCurrentKey } from './secrets.js';
import type { ClientStore } from './store.js';

/** One match a scanner reports: GitHub's `{token, type, url, source}`, the last three optional here. */
export interface LeakFinding {
  readonly token: string;
  readonly type?: string;
  readonly url?: string;
  readonly source?: string;
}

/**
 * GitHub's false-positive feedback (secret scanning partner program, "Provide
 * feedback for false positives"): the token by its SHA-256 (never the raw
 * token back), its type, and one of the two lower-case labels.
 */
export interface LeakLabel {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: 'true_positive' | 'false_positive';
}

/** What the team's admins are told of one reported key (mail), after the change committed. */
export interface LeakedKeyNotice {
  readonly teamId: number;
  readonly clientId: string;
  readonly name: string | null;
  readonly environment: string;
  readonly action: 'revoked' | 'flagged';
  readonly scanner: LeakScanner;
  readonly url: string | null;
  readonly source: string | null;
}

export interface LeakReports {
  /**
   * Acts on every reported key of this server: revoked (or, by the team's
   * setting, flagged), audited with where it was found, `client.leaked`
   * published (the `key.leaked` webhook), all in one transaction; the admins
   * are mailed after it commits. `bodyDigest`: the signed body's SHA-256,
   * remembered in that transaction, so a replay changes nothing.
   */
  report(
    findings: readonly LeakFinding[],
    from: { scanner: LeakScanner; bodyDigest?: string; ip: string | null },
  ): Promise<LeakLabel[]>;
}

/** Digests looked up per query: well under every database's bound on parameters. */
const LOOKUP_CHUNK = 500;
/** The longest `url` and `source` kept in the audit row, the event and the mail. */
const MAX_WHERE = 2000;

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Whether a token is a real keyport key, judged by its form alone: the current
 * format with a valid checksum, or the format before checksums (which nothing
 * offline can check). Never by the database: the answer must not tell which
 * keys exist, are revoked or were never made.
 */
export function leakLabelOf(token: string): LeakLabel['label'] {
  const legacy = looksGenerated(token) && !looksLikeCurrentKey(token);
  return hasValidChecksum(token) || legacy ? 'true_positive' : 'false_positive';
}

export function createLeakReports({
  clients,
  store,
  unitOfWork,
  events,
  audit,
  clock = systemClock,
  onLeaked,
}: {
  clients: Pick<ClientStore, 'findByKeyDigest' | 'revoke' | 'update'>;
  store: LeakStore;
  unitOfWork: UnitOfWork;
  events: DomainEvents;
  audit: AuditStore;
  clock?: Clock;
  /** Told after the commit, never awaited by the answer (mail takes seconds; the answer must not say which keys were found). */
  onLeaked: (notices: readonly LeakedKeyNotice[]) => void;
}): LeakReports {
  /** Every token is looked up the same way, whatever its form: one indexed read per chunk of digests. */
  async function keysOf(findings: readonly LeakFinding[]): Promise<Map<string, ClientRecord>> {
    const digests = [...new Set(findings.map((f) => keyDigest(f.token)))];
    const found = new Map<string, ClientRecord>();
    for (let i = 0; i < digests.length; i += LOOKUP_CHUNK) {
      const chunk = digests.slice(i, i + LOOKUP_CHUNK);
      const rows = await clients.findByKeyDigest(chunk);
      rows.forEach((row, j) => {
        if (row) found.set(chunk[j]!, row);
      });
    }
    return found;
  }

  const trimmed = (value: string | undefined) => (value ? value.slice(0, MAX_WHERE) : null);

  return {
    async report(findings, { scanner, bodyDigest, ip }) {
      const byDigest = await keysOf(findings);
      const notices: LeakedKeyNotice[] = [];
      await unitOfWork.run(async (tx) => {
        if (bodyDigest !== undefined) {
          const fresh = await store.remember(
            { digest: bodyDigest, scanner, tokens: findings.length, at: secondsOf(clock) },
            tx,
          );
          if (!fresh) throw new ReplayedRequest('this signed report was received before; a replay changes nothing');
        }
        const actions = new Map<number, LeakedKeyAction>();
        const done = new Set<string>();
        for (const finding of findings) {
          const client = byDigest.get(keyDigest(finding.token));
          // Already revoked: nothing more to do, and the answer is the same as for any other token.
          if (!client || client.teamId === null || client.revokedAt !== null || done.has(client.clientId)) continue;
          done.add(client.clientId);
          const teamId = client.teamId;
          const choice = actions.get(teamId) ?? (await store.actionOf(teamId, tx));
          actions.set(teamId, choice);
          const action = choice === 'revoke' ? 'revoked' : 'flagged';
          const where = { url: trimmed(finding.url), source: trimmed(finding.source) };
          await clients.update(client.clientId, { leakedAt: secondsOf(clock) }, tx);
          if (action === 'revoked') {
            await clients.revoke(client.clientId, secondsOf(clock), tx);
            await events.publish({ type: 'client.revoked', clientId: client.clientId, teamId }, tx);
          }
          await events.publish(
            { type: 'client.leaked', clientId: client.clientId, teamId, scanner, action, ...where },
            tx,
          );
          await audit.record(
            {
              teamId,
              actorType: scanner === 'github' ? 'scanner' : 'operator',
              actorId: scanner === 'github' ? 'github' : null,
              action: 'client.leaked',
              clientId: client.clientId,
              status: 200,
              ip,
              details: { action, scanner, ...where, ...(finding.type ? { type: finding.type.slice(0, 100) } : {}) },
            },
            tx,
          );
          notices.push({
            teamId,
            clientId: client.clientId,
            name: client.name,
            environment: client.environment,
            action,
            scanner,
            ...where,
          });
        }
      });
      if (notices.length) onLeaked(notices);
      return findings.map((f) => ({
        token_hash: sha256Hex(f.token),
        token_type: f.type ?? 'keyport_api_key',
        label: leakLabelOf(f.token),
      }));
    },
  };
}
