import type { StaffRole } from '../staff/staff.js';

/** What console staff may do (issue 29 item 4): readonly looks, support changes keys, admin also plans. */
export type StaffAction = 'look' | 'keys:change' | 'plan:change';

const STAFF_MAY: Readonly<Record<StaffRole, readonly StaffAction[]>> = {
  admin: ['look', 'keys:change', 'plan:change'],
  support: ['look', 'keys:change'],
  readonly: ['look'],
};

export const staffMay = (role: StaffRole, action: StaffAction): boolean => STAFF_MAY[role].includes(action);
