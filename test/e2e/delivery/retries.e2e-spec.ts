import { ReceiverOptions } from '../../support/receiver';
import {
  QUIET_PERIOD_MS,
  closedPort,
  createEndpoint,
  listDeliveries,
  newWorkspace,
  pause,
  publish,
  useDeliveryApp,
  waitForDeliveries,
  waitForEvent,
  webhookIdOf,
} from './delivery-helpers';

const SCHEDULE_MS = [100, 200, 300];
const TIMEOUT_MS = 500;
/** The earliest a jittered (±20 %) delay can end, less 1 ms for millisecond rounding. */
const lowerBound = (ms: number) => Math.round(ms * 0.8) - 1;

/** Failed attempts are retried on the configured schedule; every failure mode is recorded. */
describe('retries and failure modes', () => {
  const delivery = useDeliveryApp({
    WEBHOOK_RETRY_SCHEDULE: SCHEDULE_MS.map((ms) => `${ms}ms`).join(','),
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  });

  /**
   * A receiver with its own endpoint in a workspace of its own (so publications reach it alone),
   * verifying with the endpoint's secret, and one event published to it.
   */
  async function deliverOne(options: ReceiverOptions) {
    const { w, receiver, endpoint, publishOne } = await delivery.endpointWithReceiver(options);
    const eventId = await publishOne(`c_${delivery.receivers.length}`);
    return { w, receiver, endpoint, eventId };
  }

  it('retries on the schedule with the same webhook-id and body bytes, signed afresh', async () => {
    const { w, receiver, eventId } = await deliverOne({
      respond: (_request, index) => (index < 3 ? { status: 500, body: 'down' } : { status: 200 }),
    });
    const requests = await receiver.waitFor(4);
    expect(requests.map(webhookIdOf)).toEqual([eventId, eventId, eventId, eventId]);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    for (const request of requests) {
      expect(request.verified).toBe(true);
      // Signed when sent, not when the event was created.
      const timestamp = Number(request.headers['webhook-timestamp']);
      expect(timestamp).toBeLessThanOrEqual(Math.floor(request.receivedAt / 1000));
      expect(timestamp).toBeGreaterThanOrEqual(Math.floor(request.receivedAt / 1000) - 2);
    }
    for (let i = 1; i < requests.length; i++) {
      const gap = requests[i].receivedAt - requests[i - 1].receivedAt;
      expect(gap).toBeGreaterThanOrEqual(lowerBound(SCHEDULE_MS[i - 1]));
    }
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event).toMatchObject({ succeeded: true, last_http_code: 200, skipped: false });
    const attempts = await waitForDeliveries(w, eventId, 4);
    expect(attempts.map((d) => [d.http_code, d.succeeded])).toEqual([
      [500, false],
      [500, false],
      [500, false],
      [200, true],
    ]);
    expect(attempts[0].response).toBe('down');
  });

  it('gives up after the last scheduled retry: the event has failed', async () => {
    const { w, receiver, eventId } = await deliverOne({ respond: () => ({ status: 503 }) });
    await receiver.waitFor(4);
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event).toMatchObject({ succeeded: false, last_http_code: 503 });
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received).toHaveLength(1 + SCHEDULE_MS.length);
    expect((await waitForDeliveries(w, eventId, 4)).every((d) => !d.succeeded)).toBe(true);
  });

  it.each([301, 302, 303, 307, 308])(
    'does not follow a %i redirect, and counts it as a failure',
    async (status) => {
      const target = await delivery.startReceiver();
      const { w, receiver, eventId } = await deliverOne({
        respond: () => ({ status, headers: { location: `${target.url}moved` } }),
      });
      await receiver.waitFor(4);
      const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
      expect(event).toMatchObject({ succeeded: false, last_http_code: status });
      const attempts = await waitForDeliveries(w, eventId, 4);
      expect(attempts.every((d) => d.http_code === status && !d.succeeded)).toBe(true);
      expect(target.received).toHaveLength(0);
    },
  );

  it('records a timeout as an attempt without an HTTP code, then retries', async () => {
    const { w, receiver, eventId } = await deliverOne({
      respond: (_request, index) =>
        index === 0 ? { status: 200, delayMs: TIMEOUT_MS * 4 } : { status: 200, body: 'late ok' },
    });
    await receiver.waitFor(2);
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event.succeeded).toBe(true);
    const [timedOut, retried] = await waitForDeliveries(w, eventId, 2);
    expect(timedOut).toMatchObject({ succeeded: false, http_code: null });
    expect(timedOut.response).toMatch(new RegExp(`timed out after ${TIMEOUT_MS} ms`, 'i'));
    expect(timedOut.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(retried).toMatchObject({ succeeded: true, http_code: 200, response: 'late ok' });
  });

  it('records an unreachable port as an attempt without an HTTP code, with the error', async () => {
    const port = await closedPort();
    const w = { t: delivery.app.t, ...(await newWorkspace(delivery.app.t)) };
    const endpoint = await createEndpoint(w, { url: `http://127.0.0.1:${port}/hook` });
    const published = await publish(w, 'customer.created', { id: 'c_unreachable' });
    const eventId = published.webhook_event_ids[0];
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event).toMatchObject({ succeeded: false, last_http_code: null });
    const attempts = await waitForDeliveries(w, eventId, 4);
    expect(attempts).toHaveLength(1 + SCHEDULE_MS.length);
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({
        webhook_endpoint_id: endpoint.id,
        succeeded: false,
        http_code: null,
      });
      expect(attempt.response).toMatch(/ECONNREFUSED/);
    }
    // An unreachable attempt has no HTTP code class.
    const in5xx = await listDeliveries(w, { http_code_class: '5xx', query: eventId });
    expect(in5xx).toHaveLength(0);
  });

  it.each([
    [200, true],
    [500, false],
  ])('keeps the first 2048 characters of an oversized %i response', async (status, ok) => {
    const body = `${'é'.repeat(1000)}${'x'.repeat(200_000)}`;
    const { w, receiver, eventId } = await deliverOne({
      respond: (_request, index) => (index === 0 ? { status, body } : { status: 200 }),
    });
    await receiver.waitFor(1);
    const [attempt] = await waitForDeliveries(w, eventId, 1);
    expect(attempt).toMatchObject({ succeeded: ok, http_code: status });
    expect(attempt.response).toHaveLength(2048);
    expect(attempt.response).toBe(body.slice(0, 2048));
    await waitForEvent(w, eventId, (e) => e.succeeded === true);
  });
});
