/** Who works the support console (issue 29): no team's person, one of three roles. */
export type StaffRole = 'admin' | 'support' | 'readonly';
export const STAFF_ROLES: readonly StaffRole[] = ['admin', 'support', 'readonly'];

export interface StaffAccount {
  readonly id: number;
  readonly email: string;
  readonly role: StaffRole;
  readonly passwordHash: string;
  /** The TOTP secret sealed with the console key (totp.ts); null until enrolled. */
  readonly totpSealed: string | null;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly disabledAt: number | null;
}

/** A console session as stored: keyed by the digest of its cookie, never the cookie. */
export interface StaffSessionRecord {
  readonly id: string;
  readonly staffId: number;
  /** 'password': the password was right, the second factor is still to come. */
  readonly stage: 'password' | 'signed_in';
  /** The sealed secret being enrolled, until its first code confirms it. */
  readonly pendingTotp: string | null;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export interface StaffStore {
  insert(account: Omit<StaffAccount, 'id' | 'totpSealed' | 'disabledAt'>): Promise<StaffAccount>;
  findByEmail(email: string): Promise<StaffAccount | undefined>;
  findById(id: number): Promise<StaffAccount | undefined>;
  list(): Promise<StaffAccount[]>;
  /** Sets the sealed TOTP secret and replaces the recovery codes' digests. */
  enrol(id: number, totpSealed: string, recoveryDigests: readonly string[]): Promise<void>;
  /**
   * Records `step` as the account's last TOTP time step; false when that step or
   * a later one was used already (a code is accepted once, RFC 6238 §5.2).
   */
  useTotpStep(id: number, step: number): Promise<boolean>;
  /** Marks the recovery code used; false when it is unknown or used already. */
  useRecoveryCode(id: number, digest: string, at: number): Promise<boolean>;
  disable(id: number, at: number): Promise<void>;
  insertSession(session: StaffSessionRecord): Promise<void>;
  findSession(id: string): Promise<StaffSessionRecord | undefined>;
  updateSession(
    id: string,
    changes: { stage?: 'signed_in'; pendingTotp?: string | null; lastSeenAt?: number },
  ): Promise<void>;
  deleteSession(id: string): Promise<void>;
  deleteSessionsOf(staffId: number): Promise<number>;
  deleteSessionsSeenBefore(before: number): Promise<number>;
}
