import { z } from 'zod';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/** The most matches one report may hold (GitHub batches them; each is one indexed read). */
export const MAX_FINDINGS = 5000;
/** The largest raw body read: 5000 matches of GitHub's shape fit well under it. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

const where = z.string().max(10_000);

/** One match, as GitHub's secret scanning partner program sends it. */
const finding = z.object({
  token: z.string().min(1).max(512).meta({ description: 'the value that matched (a keyport key, or not)' }),
  type: z.string().max(200).optional().meta({ description: 'the secret type the scanner matched' }),
  url: where.optional().meta({ description: 'the public URL where it was found (may be empty)' }),
  source: where.optional().meta({ description: 'where on the scanner it was found: content, commit, npm, …' }),
});

export const leakReport = z
  .array(finding)
  .min(1)
  .max(MAX_FINDINGS)
  .meta({ description: 'the matches: `[{token, type, url, source}]`, as GitHub sends them' });

/** The operator's other form: bare keys found in one place (`source`: the scanner or where, `url`: where). */
export const leakedKeys = z.strictObject({
  keys: z.array(finding.shape.token).min(1).max(MAX_FINDINGS),
  source: where.optional().meta({ description: 'the scanner, or where they were found' }),
  url: where.optional().meta({ description: 'where they were found' }),
  type: finding.shape.type,
});

/** GitHub's feedback shape: the token only by its SHA-256, and `true_positive` or `false_positive`. */
export const leakLabels = z.array(
  z.object({
    token_hash: z.string().meta({ description: 'SHA-256 of the token, lower-case hex' }),
    token_type: z.string(),
    label: z.enum(['true_positive', 'false_positive']).meta({
      description:
        "true_positive: the token has keyport's key form with a valid checksum; says nothing of whether it exists here",
    }),
  }),
);

export const LEAK_ROUTES = {
  github: declareRoute({
    method: 'post',
    path: '/secret-scanning/github',
    summary:
      "GitHub's secret scanning partner program: reported keys are revoked (or flagged). Signed: Github-Public-Key-Identifier and Github-Public-Key-Signature (ECDSA P-256, SHA-256, over the raw body)",
    security: 'none',
    body: leakReport,
    status: 200,
    response: leakLabels,
    errors: [400, 401, 409, 413],
  }),
  operator: declareRoute({
    method: 'post',
    path: '/keys/leaked',
    summary: 'Keys another scanner found in public (operator): revoked (or flagged) as GitHub reports are',
    security: 'bearer',
    body: z.union([leakReport, leakedKeys]),
    status: 200,
    response: leakLabels,
    errors: [400, 401, 413],
  }),
} satisfies Record<string, RouteDeclaration>;
