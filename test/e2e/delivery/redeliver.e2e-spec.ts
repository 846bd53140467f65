import { uuidv7 } from '../../../src/common/ids';
import { ReceiverOptions } from '../../support/receiver';
import { bearer } from '../../support/test-app';
import {
  QUIET_PERIOD_MS,
  getEvent,
  newWorkspace,
  patchEndpoint,
  pause,
  publish,
  redeliver,
  useDeliveryApp,
  waitForDeliveries,
  waitForEvent,
  webhookIdOf,
} from './delivery-helpers';

const SCHEDULE_MS = [100, 200, 300];
const BUDGET = 1 + SCHEDULE_MS.length;

/** POST /events/{id}/redeliver: the same event again, same id and body, with a fresh budget. */
describe('redeliver', () => {
  const delivery = useDeliveryApp({
    WEBHOOK_RETRY_SCHEDULE: SCHEDULE_MS.map((ms) => `${ms}ms`).join(','),
  });

  /** One event published to a fresh endpoint, delivered until it has an outcome. */
  async function deliveredEvent(options: ReceiverOptions) {
    const { w, receiver, endpoint } = await delivery.endpointWithReceiver(options);
    const published = await publish(w, 'customer.created', { id: 'c_1', name: 'Ada' });
    const eventId = published.webhook_event_ids[0];
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    return { w, receiver, endpoint, eventId, event };
  }

  it('redelivers a succeeded event: same webhook-id and body, signed afresh', async () => {
    const { w, receiver, eventId, event } = await deliveredEvent({});
    expect(event.succeeded).toBe(true);
    await redeliver(w, eventId);
    const [first, second] = await receiver.waitFor(2);
    expect(webhookIdOf(second)).toBe(eventId);
    expect(second.body).toBe(first.body);
    expect(second.verified).toBe(true);
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(
      Number(first.headers['webhook-timestamp']),
    );
    const attempts = await waitForDeliveries(w, eventId, 2);
    expect(attempts.map((a) => a.succeeded)).toEqual([true, true]);
    expect((await getEvent(w, eventId)).succeeded).toBe(true);
  });

  it('a failed redelivery of a succeeded event uses a whole budget and leaves it succeeded', async () => {
    const { w, receiver, eventId } = await deliveredEvent({
      respond: (_request, index) => (index === 0 ? { status: 200 } : { status: 500 }),
    });
    await redeliver(w, eventId);
    const requests = await receiver.waitFor(1 + BUDGET);
    expect(new Set(requests.map(webhookIdOf))).toEqual(new Set([eventId]));
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    const attempts = await waitForDeliveries(w, eventId, 1 + BUDGET);
    expect(attempts.map((a) => a.http_code)).toEqual([200, 500, 500, 500, 500]);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received).toHaveLength(1 + BUDGET);
    expect(await getEvent(w, eventId)).toMatchObject({ succeeded: true, last_http_code: 500 });
  });

  it('redelivers a failed event with a fresh retry budget', async () => {
    // The first budget fails, then the redelivery fails until its own last retry succeeds.
    const { w, receiver, eventId, event } = await deliveredEvent({
      respond: (_request, index) => (index < 2 * BUDGET - 1 ? { status: 500 } : { status: 200 }),
    });
    expect(event).toMatchObject({ succeeded: false, last_http_code: 500 });
    expect(receiver.received).toHaveLength(BUDGET);
    await redeliver(w, eventId);
    const requests = await receiver.waitFor(2 * BUDGET);
    expect(requests.every((r) => r.verified && webhookIdOf(r) === eventId)).toBe(true);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    // The redelivery's retries start the schedule over.
    const redelivered = requests.slice(BUDGET);
    for (let i = 1; i < redelivered.length; i++) {
      const gap = redelivered[i].receivedAt - redelivered[i - 1].receivedAt;
      expect(gap).toBeGreaterThanOrEqual(Math.round(SCHEDULE_MS[i - 1] * 0.8) - 1);
    }
    expect(await waitForEvent(w, eventId, (e) => e.succeeded === true)).toMatchObject({
      last_http_code: 200,
    });
    const attempts = await waitForDeliveries(w, eventId, 2 * BUDGET);
    expect(attempts.map((a) => a.succeeded)).toEqual([...Array(2 * BUDGET - 1).fill(false), true]);
  });

  it('marks the event skipped instead when the endpoint is disabled', async () => {
    const { w, receiver, endpoint, eventId } = await deliveredEvent({});
    await patchEndpoint(w, endpoint.id, { enabled: false });
    await redeliver(w, eventId);
    expect(await getEvent(w, eventId)).toMatchObject({ skipped: true, succeeded: true });
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received).toHaveLength(1);
  });

  it('answers 404 for an unknown or foreign event and 422 for a malformed id', async () => {
    const { eventId } = await deliveredEvent({});
    const stranger = await newWorkspace(delivery.app.t);
    await delivery.app.t.http
      .post(`/api/webhooks/events/${eventId}/redeliver`)
      .set(bearer(stranger.token))
      .expect(404);
    await delivery.app.t.http
      .post(`/api/webhooks/events/${uuidv7()}/redeliver`)
      .set(bearer(delivery.app.token))
      .expect(404);
    await delivery.app.t.http
      .post('/api/webhooks/events/not-a-uuid/redeliver')
      .set(bearer(delivery.app.token))
      .expect(422);
  });
});
