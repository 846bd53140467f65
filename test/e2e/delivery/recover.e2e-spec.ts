import { uuidv7 } from '../../../src/common/ids';
import { bearer } from '../../support/test-app';
import {
  newWorkspace,
  patchEndpoint,
  redeliver,
  requestsOf,
  useDeliveryApp,
  waitForEvent,
} from './delivery-helpers';

/** POST /endpoints/{id}/recover: redeliver what failed in a window, once. */
describe('recover', () => {
  const delivery = useDeliveryApp({ WEBHOOK_RETRY_SCHEDULE: '50ms,100ms' });

  it('redelivers exactly the events that failed in the window, and not twice', async () => {
    let healthy = false;
    const { w, endpoint, receiver, publishOne } = await delivery.endpointWithReceiver({
      respond: () => (healthy ? { status: 200 } : { status: 500 }),
    });
    const recover = async (body: Record<string, string>) =>
      (
        await w.t.http
          .post(`/api/webhooks/endpoints/${endpoint.id}/recover`)
          .set(bearer(w.token))
          .send(body)
          .expect(202)
      ).body as { count: number; more: boolean };

    const start = new Date().toISOString();
    const [a, b, c] = [await publishOne('a'), await publishOne('b'), await publishOne('c')];
    for (const id of [a, b, c]) await waitForEvent(w, id, (e) => e.succeeded === false);
    const failuresEnded = new Date().toISOString();
    // An event still retrying is not a failure yet.
    const pending = await publishOne('pending');

    // B is redelivered by hand and succeeds: it is not recovered.
    healthy = true;
    await redeliver(w, b);
    await waitForEvent(w, b, (e) => e.succeeded === true);
    await waitForEvent(w, pending, (e) => e.succeeded === true);

    // Windows that hold none of the failures.
    expect(await recover({ since: failuresEnded })).toEqual({ count: 0, more: false });
    expect(await recover({ since: '2020-01-01T00:00:00Z', until: start })).toEqual({
      count: 0,
      more: false,
    });

    const before = receiver.received.length;
    expect(await recover({ since: start })).toEqual({ count: 2, more: false });
    // Called again at once: A and C are already being redelivered.
    expect(await recover({ since: start, until: new Date().toISOString() })).toEqual({
      count: 0,
      more: false,
    });
    for (const id of [a, c]) await waitForEvent(w, id, (e) => e.succeeded === true);
    const after = receiver.received.slice(before);
    expect(after.map((r) => String(r.headers['webhook-id'])).sort()).toEqual([a, c].sort());
    expect(after.every((r) => r.verified)).toBe(true);
    expect(requestsOf(receiver.received, b)).toHaveLength(4);
    // Succeeded now: nothing left to recover.
    expect(await recover({ since: start })).toEqual({ count: 0, more: false });
  });

  it('answers 422 for a disabled endpoint or a bad window, 404 outside the workspace', async () => {
    const { w, endpoint } = await delivery.endpointWithReceiver();
    const path = `/api/webhooks/endpoints/${endpoint.id}/recover`;
    const send = (body: unknown, token = w.token) =>
      w.t.http
        .post(path)
        .set(bearer(token))
        .send(body as object);

    const missing = await send({}).expect(422);
    expect(missing.body.detail).toEqual([expect.objectContaining({ loc: ['body', 'since'] })]);
    const local = await send({ since: '2026-11-27T10:00:00' }).expect(422);
    expect(local.body.detail[0].msg).toMatch(/with a timezone/);
    const backwards = await send({
      since: '2026-11-27T10:00:00Z',
      until: '2026-11-27T09:00:00Z',
    }).expect(422);
    expect(backwards.body.detail).toEqual([
      {
        type: 'value_error',
        loc: ['body', 'until'],
        msg: 'until must be after since',
        input: '2026-11-27T09:00:00Z',
      },
    ]);
    const future = await send({ since: '2999-01-01T00:00:00Z' }).expect(422);
    expect(future.body.detail[0].msg).toBe('since must be in the past');

    const other = await newWorkspace(w.t);
    await send({ since: '2026-01-01T00:00:00Z' }, other.token).expect(404);
    await w.t.http
      .post(`/api/webhooks/endpoints/${uuidv7()}/recover`)
      .set(bearer(w.token))
      .send({ since: '2026-01-01T00:00:00Z' })
      .expect(404);
    await send({ since: '2026-01-01T00:00:00Z' }, w.publisher).expect(403);

    await patchEndpoint(w, endpoint.id, { enabled: false });
    const disabled = await send({ since: '2026-01-01T00:00:00Z' }).expect(422);
    expect(disabled.body).toEqual({
      error: 'EndpointDisabled',
      detail: 'The endpoint is disabled: enable it before recovering its failed events',
    });
  });
});
