export type Role = 'admin' | 'member';
export const ROLES: readonly Role[] = ['admin', 'member'];

/** A person signs in; a service account is the user a service-account client acts as. */
export type UserKind = 'person' | 'service_account';

export interface Team {
  readonly id: number;
  readonly name: string;
  readonly plan: string;
  readonly createdAt: number;
  /** The team's id in the product keyport serves (issue 26): null for teams made with `teamadd`. */
  readonly externalId?: string | null;
  /** When the product's sync suspended the team (epoch seconds); its keys do not work meanwhile. */
  readonly suspendedAt?: number | null;
}

export interface User {
  readonly id: number;
  readonly kind: UserKind;
  readonly email: string | null;
  readonly passwordHash: string | null;
  readonly name: string | null;
}

export interface Membership {
  readonly teamId: number;
  readonly userId: number;
  readonly role: Role;
}
