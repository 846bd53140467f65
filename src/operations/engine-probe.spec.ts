import { loadConfig } from '../config/config';
import { Engine } from '../engine/engine';
import { EngineProbe } from './engine-probe';

/** An engine whose two probed reads do what the test says; nothing else is touched. */
const engineWith = (
  headPosition: () => Promise<number>,
  checkpoints: () => Promise<Record<string, number>>,
) => ({ eventStore: { headPosition }, projections: { checkpoints } }) as unknown as Engine;

describe('EngineProbe', () => {
  const mongoUri = 'mongodb://app:s3cret-pass@db.internal:27017/?replicaSet=rs0';
  const config = loadConfig({ MONGODB_URI: mongoUri, WEBHOOK_READY_MAX_LAG: '5' });

  it('is ready when both engines answer with small lags', async () => {
    const probe = new EngineProbe(
      engineWith(
        async () => 12,
        async () => ({ endpoints: 12, deliveries: 8 }),
      ),
      config,
    );
    expect(await probe.readiness()).toEqual({
      status: 'ready',
      log_head: 12,
      projection_lags: { endpoints: 0, deliveries: 4 },
      max_lag: 5,
    });
  });

  it('gives up on an engine that hangs, after the timeout', async () => {
    const probe = new EngineProbe(
      engineWith(
        () => new Promise<number>(() => undefined),
        async () => ({ endpoints: 0 }),
      ),
      config,
      30,
    );
    const started = Date.now();
    expect(await probe.readiness()).toEqual({
      status: 'not_ready',
      reasons: ['event store (SQLite) did not answer: no answer within 30 ms'],
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports a failing engine without its credentials, on one line', async () => {
    const probe = new EngineProbe(
      engineWith(
        async () => 3,
        async () => {
          throw new Error(`connection to ${mongoUri} closed\n  (pool cleared)`);
        },
      ),
      config,
    );
    const verdict = await probe.readiness();
    expect(verdict).toEqual({
      status: 'not_ready',
      reasons: [expect.stringMatching(/^read models \(MongoDB\) did not answer: connection to /)],
    });
    const [reason] = (verdict as { reasons: string[] }).reasons;
    expect(reason).toContain('db.internal');
    expect(reason).toContain('(pool cleared)');
    expect(reason).not.toContain('s3cret');
    expect(reason).not.toContain('\n');
  });

  it('reports an engine that throws before returning a promise', async () => {
    const probe = new EngineProbe(
      engineWith(
        () => {
          throw new Error('store is closed');
        },
        async () => ({}),
      ),
      config,
    );
    expect(await probe.readiness()).toEqual({
      status: 'not_ready',
      reasons: ['event store (SQLite) did not answer: store is closed'],
    });
  });
});
