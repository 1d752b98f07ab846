/**
 * The support runbook writes flags Go-style (`-team 42`, `-json`); commander
 * reads GNU style (`--team 42`). Single-dash words that name a known long
 * option are rewritten; anything else (a value such as `-x1`) is left alone.
 */
export function normalizeGoStyleFlags(args: readonly string[], longOptions: ReadonlySet<string>): string[] {
  let afterSeparator = false;
  return args.map((arg) => {
    if (arg === '--') afterSeparator = true;
    if (afterSeparator) return arg;
    const match = /^-([a-z][a-z-]+)(=.*)?$/i.exec(arg);
    return match && longOptions.has(match[1]!) ? `-${arg}` : arg;
  });
}
