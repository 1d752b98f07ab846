import { describe, expect, it } from 'vitest';
import { maskedConfig } from '../../src/cli/commands/config.js';
import { CONFIG_FILE_KEYS, loadConfig } from '../../src/config.js';

describe('`keyport config` prints the settings under the config file’s own key names', () => {
  it('every key it prints is a key of the file, and every setting of the file is printed', () => {
    const shown = JSON.parse(JSON.stringify(maskedConfig(loadConfig({ env: {} })))) as Record<string, unknown>;
    const printed = Object.keys(shown).sort();
    expect(printed.filter((key) => !CONFIG_FILE_KEYS.includes(key))).toEqual([]);
    // A setting left unset prints nothing (undefined is no JSON); each one with a default is there.
    for (const key of ['roles', 'webhook_poll_ms', 'github_secret_scanning_keys_url', 'port', 'plans'])
      expect(printed).toContain(key);
  });
});
