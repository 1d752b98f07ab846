/**
 * Names people give things (teams, keys, apps) are shown in lists, logs and
 * pages. Control characters (C0 and C1) and the Unicode bidirectional
 * controls are refused: a right-to-left override makes `pay\u202Etxt.exe`
 * read as something else (CVE-2021-42574, "Trojan Source").
 */
const UNPRINTABLE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

/** The trimmed name when it is 1 to `max` printable characters; undefined otherwise. */
export function printableName(value: string, max = 200): string | undefined {
  const trimmed = value.trim();
  return trimmed && trimmed.length <= max && !UNPRINTABLE.test(trimmed) ? trimmed : undefined;
}

/** A lookup table with no prototype: `"constructor"` or `"toString"` is never found in it by accident. */
export function ownEntries<T>(record: Readonly<Record<string, T>>): Readonly<Record<string, T>> {
  return Object.assign(Object.create(null) as Record<string, T>, record);
}
