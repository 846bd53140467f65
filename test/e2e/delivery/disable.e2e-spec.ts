import { bearer } from '../../support/test-app';
import {
  QUIET_PERIOD_MS,
  createEndpoint,
  getEndpoint,
  getEvent,
  listEvents,
  patchEndpoint,
  pause,
  publish,
  requestsOf,
  useDeliveryApp,
  waitForDeliveries,
  waitForEvent,
  waitUntil,
} from './delivery-helpers';

const THRESHOLD = 3;

/** Endpoints that stop receiving: 410 Gone, auto-disable, disabled and deleted by the user. */
describe('disabled endpoints', () => {
  const delivery = useDeliveryApp({ WEBHOOK_FAILURE_THRESHOLD: String(THRESHOLD) });
  /** A workspace of its own with one endpoint and its receiver. */
  const endpointWith = delivery.endpointWithReceiver;

  const waitDisabled = (w: Parameters<typeof getEndpoint>[0], id: string) =>
    waitUntil(`endpoint ${id} to be disabled`, async () => !(await getEndpoint(w, id)).enabled);

  it('410 Gone disables the endpoint, skips its pending events and is not retried', async () => {
    // The first event is held in flight (then fails) while the second one meets a 410.
    let pendingId = '';
    const { w, receiver, endpoint, publishOne } = await endpointWith({
      respond: (request) =>
        request.headers['webhook-id'] === pendingId
          ? { status: 500, delayMs: 1500 }
          : { status: 410, body: 'gone' },
    });
    pendingId = await publishOne('c_pending');
    await receiver.waitFor(1);
    const goneId = await publishOne('c_gone');

    await waitDisabled(w, endpoint.id);
    expect(await waitForEvent(w, pendingId, (e) => e.skipped)).toMatchObject({ skipped: true });
    const gone = await waitForEvent(w, goneId, (e) => e.succeeded !== null);
    expect(gone).toMatchObject({ succeeded: false, last_http_code: 410, skipped: false });
    // The held attempt is still recorded when it ends, and nothing is sent after it.
    await waitForDeliveries(w, pendingId, 1);
    await pause(QUIET_PERIOD_MS);
    expect(requestsOf(receiver.received, goneId)).toHaveLength(1);
    expect(requestsOf(receiver.received, pendingId)).toHaveLength(1);
    expect((await getEvent(w, pendingId)).skipped).toBe(true);

    // Nothing is created for it any more.
    const later = await publish(w, 'customer.created', { id: 'c_later' });
    expect(later.webhook_event_ids).toEqual([]);
    const skipped = await listEvents(w, { skipped: 'true' });
    expect(skipped.map((e) => e.id)).toEqual([pendingId]);
  });

  it('counts only failures after a re-enable', async () => {
    const { w, endpoint, publishOne } = await endpointWith({
      respond: () => ({ status: 500, body: 'broken' }),
    });
    const failAll = async (n: number, tag: string) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await publishOne(`${tag}_${i}`));
      for (const id of ids) await waitForEvent(w, id, (e) => e.succeeded === false);
    };
    await failAll(THRESHOLD, 'before');
    await waitDisabled(w, endpoint.id);

    await patchEndpoint(w, endpoint.id, { enabled: true });
    await failAll(THRESHOLD - 1, 'after');
    await pause(QUIET_PERIOD_MS);
    expect((await getEndpoint(w, endpoint.id)).enabled).toBe(true);
    await failAll(1, 'last');
    await waitDisabled(w, endpoint.id);
  });

  it(`disables the endpoint after ${THRESHOLD} failed events in a row and skips pending ones`, async () => {
    let pendingId = '';
    const { w, receiver, endpoint, publishOne } = await endpointWith({
      respond: (request) =>
        request.headers['webhook-id'] === pendingId
          ? { status: 500, delayMs: 3000 }
          : { status: 500, body: 'broken' },
    });
    const failed: string[] = [];
    for (let i = 1; i < THRESHOLD; i++) failed.push(await publishOne(`c_${i}`));
    for (const id of failed) await waitForEvent(w, id, (e) => e.succeeded === false);
    // One short of the threshold: still enabled.
    expect((await getEndpoint(w, endpoint.id)).enabled).toBe(true);

    pendingId = await publishOne('c_pending');
    await waitUntil('the pending event to be in flight', () =>
      requestsOf(receiver.received, pendingId).length === 1 ? true : undefined,
    );
    failed.push(await publishOne(`c_${THRESHOLD}`));
    await waitDisabled(w, endpoint.id);
    for (const id of failed) {
      expect(await getEvent(w, id)).toMatchObject({ succeeded: false, skipped: false });
    }
    expect(await waitForEvent(w, pendingId, (e) => e.skipped)).toMatchObject({
      skipped: true,
      succeeded: null,
    });

    const after = await publish(w, 'customer.created', { id: 'c_after' });
    expect(after.webhook_event_ids).toEqual([]);
    await waitForDeliveries(w, pendingId, 1);
    const count = receiver.received.length;
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received).toHaveLength(count);
    expect(requestsOf(receiver.received, pendingId)).toHaveLength(1);
  });

  it('does not disable when a success breaks the run of failures', async () => {
    let okId = '';
    const { w, endpoint, publishOne } = await endpointWith({
      respond: (request) =>
        request.headers['webhook-id'] === okId ? { status: 204 } : { status: 500 },
    });
    const sequence: string[] = [];
    for (const i of [1, 2, 3, 4]) {
      const id = await publishOne(`c_${i}`);
      if (i === 3) okId = id;
      sequence.push(id);
      // Completed one after the other, so "the last N completed" is well defined.
      await waitForEvent(w, id, (e) => e.succeeded !== null);
    }
    const outcomes = await Promise.all(
      sequence.map(async (id) => (await getEvent(w, id)).succeeded),
    );
    expect(outcomes).toEqual([false, false, true, false]);
    expect((await getEndpoint(w, endpoint.id)).enabled).toBe(true);
  });

  it('a disabled endpoint receives nothing; its pending retries are skipped at once', async () => {
    const { w, receiver, endpoint, publishOne } = await endpointWith({
      respond: () => ({ status: 500 }),
    });
    const pendingId = await publishOne('c_1');
    await receiver.waitFor(1);
    await patchEndpoint(w, endpoint.id, { enabled: false });
    const disabledAt = Date.now();
    expect(await waitForEvent(w, pendingId, (e) => e.skipped)).toMatchObject({ succeeded: null });

    const meanwhile = await publish(w, 'customer.created', { id: 'c_meanwhile' });
    expect(meanwhile.webhook_event_ids).toEqual([]);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received.filter((r) => r.receivedAt > disabledAt)).toHaveLength(0);
    expect((await listEvents(w, { endpoint_id: endpoint.id })).map((e) => e.id)).toEqual([
      pendingId,
    ]);

    // Enabled again: new events flow, the skipped one stays skipped.
    receiver.received.length = 0;
    await patchEndpoint(w, endpoint.id, { enabled: true });
    const again = await publishOne('c_again');
    await receiver.waitFor(1);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([again]);
    expect((await getEvent(w, pendingId)).skipped).toBe(true);
  });

  it('a deleted endpoint receives nothing; its events stay readable, pending ones skipped', async () => {
    const { w, receiver, endpoint, publishOne } = await endpointWith({
      respond: () => ({ status: 500 }),
    });
    const other = await delivery.startReceiver();
    const kept = await createEndpoint(w, { url: `${other.url}kept` });
    other.setSecret(kept.secret);

    const pending = await publish(w, 'customer.created', { id: 'c_1' });
    const [pendingId, keptId] = pending.webhook_event_ids;
    await receiver.waitFor(1);
    await w.t.http
      .delete(`/api/webhooks/endpoints/${endpoint.id}`)
      .set(bearer(w.token))
      .expect(204);
    const deletedAt = Date.now();
    expect(await waitForEvent(w, pendingId, (e) => e.skipped)).toMatchObject({
      webhook_endpoint_id: endpoint.id,
      succeeded: null,
    });

    const meanwhile = await publishOne('c_2');
    expect(meanwhile).not.toBe(pendingId);
    const [, second] = await other.waitFor(2);
    expect(second.headers['webhook-id']).toBe(meanwhile);
    expect(other.received.every((r) => r.verified)).toBe(true);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received.filter((r) => r.receivedAt > deletedAt)).toHaveLength(0);
    expect((await getEvent(w, keptId)).succeeded).toBe(true);
  });
});
