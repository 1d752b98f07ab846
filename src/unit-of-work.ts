declare const txBrand: unique symbol;

/**
 * An open transaction, opaque to the domain: only the store implementations
 * in persistence/ look inside it. A store method that takes a `Tx` does its
 * work inside that transaction.
 */
export interface Tx {
  readonly [txBrand]: true;
}

/**
 * What the domain asks for when several store calls must succeed or fail
 * together (a key limit checked and a key created, a change and its event).
 */
export interface UnitOfWork {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}
