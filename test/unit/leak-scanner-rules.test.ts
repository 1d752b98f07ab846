import { generateKeyPairSync, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leakLabelOf } from '../../src/clients/leaks.js';
import { generateClientSecret } from '../../src/clients/secrets.js';
import { parseKeyList } from '../../src/keys-api/github-keys.js';
import { sentenceOf } from '../../src/dashboard/audit-events.js';
import { html } from '../../src/web/html.js';

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const section = README.slice(README.indexOf('## What happens when a key leaks'));

/** The gitleaks rule's regex, exactly as the README shows it (TOML literal string). */
const gitleaks = /```toml\n\[\[rules\]\][\s\S]*?regex = '''(.+?)'''/.exec(section)?.[1];
/** The trufflehog detector's regex, exactly as the README shows it (YAML single-quoted). */
const trufflehog = /```yaml\ndetectors:[\s\S]*?regex:\n\s+key: '(.+?)'\n/.exec(section)?.[1];

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const base58 = (n: number) => Array.from({ length: n }, () => BASE58[randomInt(58)]).join('');

/** Places a key sits in a repository: a dotenv line, a JSON or JS string, a header, a shell export, a URL query. */
const contexts = (key: string) => [
  `KEYPORT_API_KEY=${key}\n`,
  `{"apiKey": "${key}"}`,
  `const key = '${key}';`,
  `curl -H "Authorization: Bearer ${key}" https://api.example.com`,
  `export KEY=${key}`,
  `https://api.example.com/v1?api_key=${key}&x=1`,
  key,
];

describe.each([
  ['gitleaks', gitleaks],
  ['trufflehog', trufflehog],
])("the README's %s rule (issue 28 item 4)", (_name, source) => {
  it('is in the README', () => {
    expect(source).toBeDefined();
  });

  // Go's RE2 and JavaScript read this expression alike: \b, (?:…), classes and {n} only.
  const rule = () => new RegExp(source!, 'g');

  it('finds every key keyport generates, prod and dev, whole, wherever it sits', () => {
    for (let i = 0; i < 500; i++) {
      const key = generateClientSecret(i % 2 ? 'prod' : 'dev');
      for (const text of contexts(key)) {
        const found = [...text.matchAll(rule())].map((m) => m[1]);
        expect(found, text).toEqual([key]);
      }
    }
  });

  it('finds two keys on one line as two', () => {
    const [a, b] = [generateClientSecret('prod'), generateClientSecret('dev')];
    expect([...`${a},${b}`.matchAll(rule())].map((m) => m[1])).toEqual([a, b]);
  });

  it('passes over what is not a key of this format: truncated, too long, other characters, other words, the old format', () => {
    const key = generateClientSecret('prod');
    const misses = [
      key.slice(0, -1),
      `${key}x`,
      `${key.slice(0, -1)}0`, // 0 is not base58
      key.replace('_prod_', '_test_'),
      key.replace('keyport_', 'keyportx_'),
      `my${key}`,
      `keyport_sk_prod_${base58(32)}`, // keys made before the checksum
      'keyport_sk_prod_EXAMPLE',
    ];
    for (const text of misses) expect([...text.matchAll(rule())], text).toEqual([]);
  });
});

describe('the label of a reported token: by its form alone, never by the database', () => {
  it('a key of the current format with its checksum is true_positive, dev or prod, whatever the prefix', () => {
    expect(leakLabelOf(generateClientSecret('prod'))).toBe('true_positive');
    expect(leakLabelOf(generateClientSecret('dev', 'bugbrain'))).toBe('true_positive');
  });

  it('a broken checksum, a made-up string or an example is false_positive', () => {
    const key = generateClientSecret('prod');
    const last = key.at(-1) === 'z' ? 'y' : 'z';
    expect(leakLabelOf(`${key.slice(0, -1)}${last}`)).toBe('false_positive');
    expect(leakLabelOf('keyport_sk_prod_EXAMPLE')).toBe('false_positive');
    expect(leakLabelOf('hunter2')).toBe('false_positive');
  });

  it('a key of the format before checksums, which nothing offline can check, is true_positive', () => {
    expect(leakLabelOf(`keyport_sk_prod_${base58(32)}`)).toBe('true_positive');
  });
});

describe("GitHub's key list", () => {
  const ec = (namedCurve: string) =>
    generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const rsa = () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

  it('keeps each ECDSA P-256 key by its identifier', () => {
    const keys = parseKeyList(
      JSON.stringify({ public_keys: [{ key_identifier: 'a1', key: ec('P-256'), is_current: true }] }),
    );
    expect([...keys.keys()]).toEqual(['a1']);
  });

  it('refuses a list holding a key of another curve or kind, or no list at all', () => {
    const p384 = JSON.stringify({ public_keys: [{ key_identifier: 'b', key: ec('P-384') }] });
    expect(() => parseKeyList(p384)).toThrow(/not an ECDSA P-256 key/);
    const rsaList = JSON.stringify({ public_keys: [{ key_identifier: 'c', key: rsa() }] });
    expect(() => parseKeyList(rsaList)).toThrow(/not an ECDSA P-256 key/);
    expect(() => parseKeyList('{}')).toThrow(/public_keys/);
  });
});

describe("the dashboard's audit sentence for a leaked key", () => {
  it('says where it was found and what was done, the address escaped', () => {
    const revoked = sentenceOf('client.leaked', html`ci`, { action: 'revoked', url: 'https://x.example/<b>' }).html;
    expect(revoked).toBe('reported ci found in public (https://x.example/&lt;b&gt;); it was revoked');
    const flagged = sentenceOf('client.leaked', html`ci`, { action: 'flagged', url: null }).html;
    expect(flagged).toBe('reported ci found in public (no address given); it was flagged');
  });
});
