import { describe, expect, it } from 'vitest';
import qs from 'qs';
import { formField, formFields } from '../../src/web/form-fields.js';
import { InvalidRequest } from '../../src/errors.js';

/** Parsed as the form parser parses (co-body: qs with allowDots). */
const parsed = (text: string) => qs.parse(text, { allowDots: true }) as Record<string, unknown>;

describe('form fields as the dashboard and the console read them', () => {
  it('a checkbox sent 21 times is a list of 21 values, in order (qs makes it an object past 20)', () => {
    const text = Array.from({ length: 21 }, (_, i) => `roles=r${i}`).join('&');
    const body = parsed(text);
    expect(Array.isArray(body.roles)).toBe(false);
    expect(formFields(body, 'roles')).toEqual(Array.from({ length: 21 }, (_, i) => `r${i}`));
    expect(formField(body, 'roles')).toBe('r0');
  });

  it('one value, two values, none', () => {
    expect(formFields(parsed('scopes=a'), 'scopes')).toEqual(['a']);
    expect(formFields(parsed('scopes=a&scopes=b'), 'scopes')).toEqual(['a', 'b']);
    expect(formFields(parsed('scopes='), 'scopes')).toEqual([]);
    expect(formFields(parsed(''), 'scopes')).toEqual([]);
    expect(formField(parsed('name=x&name=y'), 'name')).toBe('x');
    expect(formField(parsed(''), 'name')).toBe('');
  });

  it('a nested field (a[b]=1, a.b=1) is the client’s mistake, named', () => {
    for (const text of ['roles[x]=1', 'roles.x=1']) {
      expect(() => formFields(parsed(text), 'roles')).toThrow(InvalidRequest);
      expect(() => formField(parsed(text), 'roles')).toThrow(/roles/);
    }
  });
});
