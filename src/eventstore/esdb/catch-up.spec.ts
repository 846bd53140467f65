import {
  AccessDeniedError,
  UnavailableError,
  excludeSystemEvents,
  jsonEvent,
} from '@eventstore/db-client';
import type { AllStreamRecordedEvent, Position } from '@eventstore/db-client';
import { CatchUp, CatchUpOptions, catchUp, reconnectDelay } from './catch-up';
import { FakeEsdbClient } from './testing/fake-esdb-client';
import { FAST_RECONNECT, eventually, settle } from './testing/waiting';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function append(fake: FakeEsdbClient, count: number, stream = 's-1'): Promise<void> {
  for (let i = 0; i < count; i++) {
    await fake.appendToStream(stream, [jsonEvent({ type: 'Counted', data: { i } })]);
  }
}

const positions = (events: readonly AllStreamRecordedEvent[]) =>
  events.map((e) => e.position.commit);

describe('catchUp', () => {
  let fake: FakeEsdbClient;
  let subscription: CatchUp | undefined;
  let handled: AllStreamRecordedEvent[];
  let drops: Array<{ error: unknown; retryInMs: number }>;

  beforeEach(() => {
    fake = new FakeEsdbClient();
    handled = [];
    drops = [];
  });
  afterEach(() => subscription?.stop());

  function start(overrides: Partial<CatchUpOptions<AllStreamRecordedEvent>> = {}): CatchUp {
    subscription = catchUp(fake, {
      after: undefined,
      filter: excludeSystemEvents(),
      select: (event) => event,
      handle: (event) => {
        handled.push(event);
      },
      reconnect: FAST_RECONNECT,
      onDrop: (error, retryInMs) => drops.push({ error, retryInMs }),
      ...overrides,
    });
    return subscription;
  }

  it('hands over the existing events, then live ones, in order and once each', async () => {
    await append(fake, 5);
    start();
    await eventually(() => handled.length === 5, 'the existing events');
    await append(fake, 5, 's-2');
    await eventually(() => handled.length === 10, 'the live events');
    await settle();
    expect(positions(handled)).toEqual(positions(fake.log));
    expect(fake.subscribeCalls).toHaveLength(1);
  });

  it('starts after the given position', async () => {
    await append(fake, 6);
    start({ after: fake.log[2].position });
    await eventually(() => handled.length === 3, 'the later events');
    await settle();
    expect(positions(handled)).toEqual(positions(fake.log.slice(3)));
  });

  it('takes the next event only once the handler has settled', async () => {
    await append(fake, 3);
    const gates = [deferred(), deferred(), deferred()];
    let active = 0;
    let maxActive = 0;
    start({
      handle: async (event) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        handled.push(event);
        await gates[handled.length - 1].promise;
        active -= 1;
      },
    });
    await eventually(() => handled.length === 1, 'the first event');
    await settle();
    expect(handled).toHaveLength(1);

    gates[0].resolve();
    await eventually(() => handled.length === 2, 'the second event');
    await settle();
    expect(handled).toHaveLength(2);

    gates[1].resolve();
    gates[2].resolve();
    await eventually(() => handled.length === 3, 'the third event');
    expect(maxActive).toBe(1);
  });

  it('resubscribes after a drop from the last handled event: nothing lost, nothing twice', async () => {
    await append(fake, 4);
    start();
    await eventually(() => handled.length === 4, 'the first events');

    const dropped = new UnavailableError();
    fake.dropSubscriptions(dropped);
    await append(fake, 3);
    await eventually(() => handled.length === 7, 'the events after the drop');
    await settle();

    expect(positions(handled)).toEqual(positions(fake.log));
    expect(fake.subscribeCalls).toHaveLength(2);
    expect(fake.subscribeCalls[1].fromPosition).toEqual(fake.log[3].position);
    expect(drops).toEqual([{ error: dropped, retryInMs: FAST_RECONNECT.initialDelayMs }]);
  });

  it('counts an event whose handler was running during a drop once it settles', async () => {
    await append(fake, 5);
    const gate = deferred();
    start({
      handle: async (event) => {
        handled.push(event);
        if (handled.length === 3) await gate.promise;
      },
    });
    await eventually(() => handled.length === 3, 'the third event');
    fake.dropSubscriptions(new UnavailableError());
    await settle();
    gate.resolve();
    await eventually(() => handled.length === 5, 'the rest');
    await settle();

    expect(positions(handled)).toEqual(positions(fake.log));
    expect(fake.subscribeCalls[1].fromPosition).toEqual(fake.log[2].position);
  });

  it('skips an event a new subscription sends again', async () => {
    fake.resendStartEvent = true;
    await append(fake, 3);
    start();
    await eventually(() => handled.length === 3, 'the first events');
    fake.dropSubscriptions(new UnavailableError());
    await eventually(() => fake.subscribeCalls.length === 2, 'the new subscription');
    await append(fake, 2);
    await eventually(() => handled.length === 5, 'the later events');
    await settle();

    expect(positions(handled)).toEqual(positions(fake.log));
  });

  it('waits longer after each failed attempt, and from the start again after progress', async () => {
    await append(fake, 1);
    fake.failNextSubscriptions(
      new UnavailableError(),
      new UnavailableError(),
      new UnavailableError(),
      new UnavailableError(),
    );
    start();
    await eventually(() => handled.length === 1, 'the event after four failures');
    expect(drops.map((d) => d.retryInMs)).toEqual([1, 2, 4, 4]);

    fake.dropSubscriptions(new UnavailableError());
    await append(fake, 1);
    await eventually(() => handled.length === 2, 'the event after the drop');
    expect(drops.map((d) => d.retryInMs)).toEqual([1, 2, 4, 4, 1]);
  });

  it("rejects done with the handler's error, and subscribes no more", async () => {
    await append(fake, 5);
    const failure = new Error('handler failed');
    const running = start({
      handle: (event) => {
        handled.push(event);
        if (handled.length === 2) throw failure;
      },
    });
    await expect(running.done).rejects.toBe(failure);
    await append(fake, 2);
    await settle();
    expect(handled).toHaveLength(2);
    expect(fake.subscribeCalls).toHaveLength(1);
    expect(fake.openSubscriptions).toBe(0);
  });

  it('rejects done with an error of select', async () => {
    await append(fake, 2);
    const failure = new Error('cannot map');
    const running = start({
      select: () => {
        throw failure;
      },
    });
    await expect(running.done).rejects.toBe(failure);
    expect(handled).toHaveLength(0);
  });

  it('rejects done on an error no retry can cure, without retrying', async () => {
    const denied = new AccessDeniedError();
    fake.failNextSubscriptions(denied);
    const running = start();
    await expect(running.done).rejects.toBe(denied);
    expect(fake.subscribeCalls).toHaveLength(1);
    expect(drops).toEqual([]);
  });

  it('stops while waiting for live events, and releases the subscription', async () => {
    await append(fake, 2);
    const running = start();
    await eventually(() => handled.length === 2, 'the events');
    await running.stop();
    await expect(running.done).resolves.toBeUndefined();
    expect(fake.openSubscriptions).toBe(0);
    await append(fake, 2);
    await settle();
    expect(handled).toHaveLength(2);
  });

  it('stops while waiting to resubscribe', async () => {
    fake.failNextSubscriptions(new UnavailableError());
    const running = start({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    await eventually(() => drops.length === 1, 'the drop');
    await running.stop();
    expect(fake.subscribeCalls).toHaveLength(1);
  });

  it('handles nothing after the event during which it was stopped', async () => {
    await append(fake, 6);
    let stopping: Promise<void> | undefined;
    const running = start({
      handle: (event) => {
        handled.push(event);
        if (handled.length === 3) stopping = running.stop();
      },
    });
    await eventually(() => stopping !== undefined, 'the stop');
    await stopping;
    await settle();
    expect(handled).toHaveLength(3);
    expect(fake.openSubscriptions).toBe(0);
  });

  it('hands over only what select returns, and resumes past what it skipped', async () => {
    await append(fake, 3, 'keep-1');
    await append(fake, 3, 'drop-1');
    const kept: Position[] = [];
    start({
      select: (event) => (event.streamId.startsWith('keep-') ? event : undefined),
      handle: (event) => {
        kept.push(event.position);
      },
    });
    await eventually(() => kept.length === 3, 'the kept events');
    await settle();
    fake.dropSubscriptions(new UnavailableError());
    await eventually(() => fake.subscribeCalls.length === 2, 'the new subscription');
    expect(fake.subscribeCalls[1].fromPosition).toEqual(fake.log[5].position);
  });
});

describe('reconnectDelay', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 5_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => reconnectDelay(n, policy))).toEqual([
      100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000,
    ]);
  });
});
