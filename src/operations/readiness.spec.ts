import { assessReadiness, engineNames, projectionLags, ReadinessInput } from './readiness';

const names = engineNames({ eventStoreDb: null, mongoDb: null });
const given = (input: Partial<ReadinessInput>): ReadinessInput => ({
  head: { value: 100 },
  checkpoints: { value: { endpoints: 100, deliveries: 100 } },
  names,
  maxLag: 10,
  ...input,
});

describe('projectionLags', () => {
  it('is the head minus each checkpoint, never negative', () => {
    expect(projectionLags(50, { a: 50, b: 20, c: 0, ahead: 60 })).toEqual({
      a: 0,
      b: 30,
      c: 50,
      ahead: 0,
    });
  });
});

describe('assessReadiness', () => {
  it('is ready when every projection is within the allowed lag, the limit included', () => {
    expect(
      assessReadiness(given({ checkpoints: { value: { endpoints: 100, deliveries: 90 } } })),
    ).toEqual({
      status: 'ready',
      log_head: 100,
      projection_lags: { endpoints: 0, deliveries: 10 },
      max_lag: 10,
    });
  });

  it('names each projection that lags past the limit, and by how much', () => {
    expect(
      assessReadiness(
        given({ checkpoints: { value: { endpoints: 89, deliveries: 95, due_work: 0 } } }),
      ),
    ).toEqual({
      status: 'not_ready',
      reasons: [
        'projection endpoints lags 11 events behind the log (head 100, at most 10 allowed)',
        'projection due_work lags 100 events behind the log (head 100, at most 10 allowed)',
      ],
    });
  });

  it('allows no lag at all with a limit of 0', () => {
    const verdict = assessReadiness(
      given({ maxLag: 0, checkpoints: { value: { endpoints: 99 } } }),
    );
    expect(verdict.status).toBe('not_ready');
  });

  it('names each engine that did not answer, with its message', () => {
    expect(
      assessReadiness(
        given({ head: { error: 'database is locked' }, checkpoints: { error: 'no answer' } }),
      ),
    ).toEqual({
      status: 'not_ready',
      reasons: [
        'event store (SQLite) did not answer: database is locked',
        'read models (SQLite) did not answer: no answer',
      ],
    });
    expect(assessReadiness(given({ checkpoints: { error: 'timed out' } }))).toEqual({
      status: 'not_ready',
      reasons: ['read models (SQLite) did not answer: timed out'],
    });
  });
});

describe('engineNames', () => {
  it('names the engines the configuration selected', () => {
    expect(engineNames({ eventStoreDb: {}, mongoDb: {} })).toEqual({
      eventStore: 'event store (EventStoreDB)',
      readModels: 'read models (MongoDB)',
    });
    expect(engineNames({ eventStoreDb: null, mongoDb: {} })).toEqual({
      eventStore: 'event store (SQLite)',
      readModels: 'read models (MongoDB)',
    });
  });
});
