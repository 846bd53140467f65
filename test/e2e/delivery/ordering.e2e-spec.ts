import { WebhookPublished } from '../../../src/publishing/publication';
import { ReceivedRequest } from '../../support/receiver';
import { publish, useDeliveryApp, webhookIdOf } from './delivery-helpers';

const EVENTS = 50;

/** First attempts to one endpoint go out in publish order. */
describe('publish order', () => {
  const delivery = useDeliveryApp();
  const endpointWith = delivery.endpointWithReceiver;

  /** Each event's first request, in arrival order. */
  const firstAttempts = (received: readonly ReceivedRequest[]): string[] => [
    ...new Set(received.map(webhookIdOf)),
  ];

  /** The WebhookEvent ids of a workspace's publications, in the log's order. */
  async function publishedOrder(workspaceId: string): Promise<string[]> {
    const log = await delivery.app.t.engine.eventStore.readAll({
      fromPosition: 0,
      maxCount: 100_000,
      filter: { eventTypes: ['WebhookPublished'] },
    });
    return log
      .map((e) => e.data as WebhookPublished['data'])
      .filter((p) => p.workspaceId === workspaceId)
      .flatMap((p) => p.targets.map((t) => t.webhookEventId));
  }

  it.each([
    ['answers at once', 0],
    ['is slow to answer', 30],
  ])('publishing one after the other, to a receiver that %s', async (_name, delayMs) => {
    const { w, receiver } = await endpointWith({ respond: () => ({ status: 200, delayMs }) });
    const published: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      published.push(...(await publish(w, 'customer.created', { seq: i })).webhook_event_ids);
    }
    const received = await receiver.waitFor(EVENTS);
    expect(received.every((r) => r.verified)).toBe(true);
    expect(firstAttempts(received)).toEqual(published);
  });

  it('publishing concurrently: first attempts follow the order of the log', async () => {
    const { w, receiver } = await endpointWith({ respond: () => ({ status: 200, delayMs: 10 }) });
    await Promise.all(
      Array.from({ length: EVENTS }, (_, i) => publish(w, 'customer.created', { seq: i })),
    );
    const received = await receiver.waitFor(EVENTS);
    expect(firstAttempts(received)).toEqual(await publishedOrder(w.workspaceId));
  });

  it('retries of earlier events do not reorder the first attempts of later ones', async () => {
    // Every event fails once, so retries interleave with first attempts.
    const seen = new Set<string>();
    const { w, receiver } = await endpointWith({
      respond: (request) => {
        const first = !seen.has(webhookIdOf(request));
        seen.add(webhookIdOf(request));
        return { status: first ? 500 : 200 };
      },
    });
    const published: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      published.push(...(await publish(w, 'customer.created', { seq: i })).webhook_event_ids);
    }
    const received = await receiver.waitFor(2 * EVENTS);
    expect(firstAttempts(received)).toEqual(published);
  });
});
