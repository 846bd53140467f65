import { ReceiverResponse } from '../../support/receiver';
import {
  publish,
  useDeliveryApp,
  waitForDeliveries,
  waitForEvent,
  webhookIdOf,
} from './delivery-helpers';

/**
 * With 700 ms scheduled retries the jittered delay is 560..840 ms, so a `Retry-After: 1` always
 * lies inside the allowed [delay, 2 × delay] window and must be waited out in full, and a huge
 * one is cut to 2 × delay (>= 1120 ms, but not an hour).
 */
const SCHEDULE_MS = 700;
const MIN_JITTERED_MS = SCHEDULE_MS * 0.8;

describe('Retry-After on 429 and 503', () => {
  const delivery = useDeliveryApp({
    WEBHOOK_RETRY_SCHEDULE: `${SCHEDULE_MS}ms,${SCHEDULE_MS}ms,${SCHEDULE_MS}ms`,
  });

  /** One event to a fresh endpoint whose receiver answers the scripted responses, then 200. */
  async function deliverScripted(script: Array<() => ReceiverResponse>) {
    const { w, receiver } = await delivery.endpointWithReceiver({
      respond: (_request, index) => (index < script.length ? script[index]() : { status: 200 }),
    });
    const published = await publish(w, 'customer.created', { id: 'c_1' });
    const eventId = published.webhook_event_ids[0];
    const requests = await receiver.waitFor(script.length + 1);
    const gaps = requests.slice(1).map((r, i) => r.receivedAt - requests[i].receivedAt);
    return { w, eventId, requests, gaps };
  }

  it('waits at least the Retry-After of a 429 and of a 503, signing each attempt afresh', async () => {
    const { w, eventId, requests, gaps } = await deliverScripted([
      () => ({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }),
      () => ({ status: 503, headers: { 'retry-after': '1' }, body: 'maintenance' }),
    ]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000);
    expect(requests.every((r) => r.verified && webhookIdOf(r) === eventId)).toBe(true);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    // A second or more apart, so each attempt carries a later webhook-timestamp.
    const timestamps = requests.map((r) => Number(r.headers['webhook-timestamp']));
    expect(timestamps[1]).toBeGreaterThan(timestamps[0]);
    expect(timestamps[2]).toBeGreaterThan(timestamps[1]);
    expect(await waitForEvent(w, eventId, (e) => e.succeeded !== null)).toMatchObject({
      succeeded: true,
    });
    const attempts = await waitForDeliveries(w, eventId, 3);
    expect(attempts.map((a) => [a.http_code, a.response])).toEqual([
      [429, 'slow down'],
      [503, 'maintenance'],
      [200, ''],
    ]);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const { gaps } = await deliverScripted([
      () => ({
        status: 503,
        headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() },
      }),
    ]);
    // At least 2 s away when sent, so the wait is clamped to 2 × delay at the least.
    expect(gaps[0]).toBeGreaterThanOrEqual(2 * MIN_JITTERED_MS - 1);
  });

  it('clamps a Retry-After far beyond the schedule to twice the scheduled delay', async () => {
    // An hour is not waited: the retry arrives within the receiver's 10 s wait.
    const { gaps } = await deliverScripted([
      () => ({ status: 429, headers: { 'retry-after': '3600' } }),
    ]);
    expect(gaps[0]).toBeGreaterThanOrEqual(2 * MIN_JITTERED_MS - 1);
  });
});
