import { DeliveryConfig } from '../config/config';
import { attemptResult, Dispatcher, DispatcherPorts } from './dispatcher';
import { DueWork } from './due-work';
import { SendOutcome } from './http-sender';

/** A queue of items all due already, counting how often the dispatcher looks at it. */
class DueQueue {
  readonly pending: DueWork[];
  looks = 0;

  constructor(count: number) {
    this.pending = Array.from({ length: count }, (_, i) => ({
      webhookEventId: `event-${i}`,
      endpointId: 'endpoint',
      attemptsMade: 1,
    }));
  }

  async claim(_now: number, limit: number): Promise<DueWork[]> {
    this.looks += 1;
    return this.pending.splice(0, limit);
  }

  async nextDueAt(): Promise<number | null> {
    this.looks += 1;
    return this.pending.length > 0 ? Date.now() - 1 : null;
  }
}

describe('Dispatcher', () => {
  const config: DeliveryConfig = {
    retrySchedule: [1000],
    timeoutMs: 10_000,
    failureThreshold: 5,
    secretGracePeriodMs: 0,
    maxInFlight: 1,
  };

  function dispatcherWith(queue: DueQueue) {
    const sends: Array<(outcome: SendOutcome) => void> = [];
    const recorded: string[] = [];
    const ports = {
      store: {
        headPosition: async () => 0,
        // Nothing else is appended meanwhile: only the dispatcher's own sends can wake it.
        waitForAppend: () => new Promise<void>(() => undefined),
        append: async (streamId: string) => {
          recorded.push(streamId);
          return { position: recorded.length, nextExpectedRevision: 1 };
        },
      },
      projections: { waitFor: async () => undefined },
      endpoints: {
        findById: async (id: string) => ({
          id,
          url: 'https://hooks.example.com/',
          enabled: true,
          deletedAt: null,
          secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
          previousSecret: null,
          previousSecretExpiresAt: null,
        }),
      },
      deliveries: {
        findEvent: async (id: string) => ({ id, endpointId: 'endpoint', payload: '{}' }),
      },
      dueWork: queue,
      sender: { send: () => new Promise<SendOutcome>((resolve) => sends.push(resolve)) },
    } as unknown as DispatcherPorts;
    return { dispatcher: new Dispatcher(ports, config, () => 0.5), sends, recorded };
  }

  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const answered: SendOutcome = {
    kind: 'response',
    httpCode: 200,
    response: '',
    durationMs: 1,
    retryAfterMs: null,
  };

  it('waits for a free slot without polling the queue, then sends the next item', async () => {
    const queue = new DueQueue(2);
    const { dispatcher, sends, recorded } = dispatcherWith(queue);
    dispatcher.start();
    try {
      await settle(50);
      expect(sends).toHaveLength(1);
      const looksWhileFull = queue.looks;
      // The only slot is taken and the second item is due: the queue has nothing to say until
      // the send ends (a loop that polled it would look hundreds of times here).
      await settle(150);
      expect(queue.looks - looksWhileFull).toBeLessThanOrEqual(2);
      expect(sends).toHaveLength(1);

      sends[0](answered);
      while (sends.length < 2) await settle(10);
      sends[1](answered);
      while (recorded.length < 2) await settle(10);
      expect(recorded).toEqual(['webhook_event-event-0', 'webhook_event-event-1']);
    } finally {
      sends.forEach((send) => send(answered));
      await dispatcher.stop();
    }
  });
});

describe('attemptResult', () => {
  const outcome = (httpCode: number | null) => ({
    httpCode,
    response: null,
    durationMs: 5,
    permanent: false,
  });

  it('counts 2xx as succeeded, any other answer as failed, no answer as unreachable', () => {
    expect([200, 204, 299].map((code) => attemptResult(outcome(code)))).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect([301, 404, 410, 500].map((code) => attemptResult(outcome(code)))).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
    ]);
    expect(attemptResult(outcome(null))).toBe('unreachable');
  });
});
