import { InvalidRequest } from '../errors.js';

/*
 * A parsed form body's fields, read the same way by every page surface (the
 * dashboard, the console). The form parser (qs, through co-body) makes a name
 * repeated more than 20 times (`roles=1&roles=2&…`, 21 boxes checked) an object
 * keyed "0", "1", … instead of an array: read as no value, 21 roles would have
 * cleared a key's roles instead of being refused. Such an object is its values
 * in order; any other object (`a[b]=1`, `a.b=1`) is the client's mistake.
 */

type Body = Readonly<Record<string, unknown>> | undefined;

function valuesOf(body: Body, name: string): unknown[] | undefined {
  const value = body?.[name];
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') {
    if (Object.keys(value).every((k) => /^\d+$/.test(k))) return Object.values(value);
    throw new InvalidRequest(name, 'must be a list of values');
  }
  return undefined;
}

/** A field's one value: the first when it was sent more than once; '' when absent. */
export function formField(body: Body, name: string): string {
  const value = body?.[name];
  if (typeof value === 'string') return value;
  const values = valuesOf(body, name);
  return values ? String(values[0] ?? '') : '';
}

/** A field's every value (checkboxes, repeated fields); [] when absent or empty. */
export function formFields(body: Body, name: string): string[] {
  const value = body?.[name];
  if (typeof value === 'string') return value ? [value] : [];
  return (valuesOf(body, name) ?? []).map(String);
}
