/** What `within` rejects with when the promise has not settled in time. */
export class TimedOutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimedOutError';
  }
}

/** Settles as `promise` does, or rejects with TimedOutError after `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimedOutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves when `promise` does, or after `ms` at the latest; never rejects on its own. */
export function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  return within(promise, ms).catch((error: unknown) => {
    if (!(error instanceof TimedOutError)) throw error;
  });
}
