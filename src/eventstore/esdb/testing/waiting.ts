import { ReconnectPolicy } from '../catch-up';

/** Reconnection delays short enough for a unit test to go through several drops. */
export const FAST_RECONNECT: ReconnectPolicy = { initialDelayMs: 1, maxDelayMs: 4 };

const LIMIT_MS = 10_000;

/** Resolves once `predicate` holds; the limit only turns a hang into a readable failure. */
export async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LIMIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Lets every pending callback run a few times over: what would happen next has happened. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}
