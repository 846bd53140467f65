import { Receiver } from '../../support/receiver';
import { bearer } from '../../support/test-app';
import {
  DeliveryApp,
  PublicationBody,
  QUIET_PERIOD_MS,
  listEvents,
  newWorkspace,
  pause,
  useDeliveryApp,
  webhookIdOf,
} from './delivery-helpers';

type Workspace = Awaited<ReturnType<typeof newWorkspace>> & Pick<DeliveryApp, 't'>;

/** POST /events with an Idempotency-Key: one publication, one fan-out, per key and workspace. */
describe('idempotent publish', () => {
  const delivery = useDeliveryApp();

  async function workspaceWithReceiver(): Promise<{ w: Workspace; receiver: Receiver }> {
    const { w, receiver } = await delivery.endpointWithReceiver();
    return { w, receiver };
  }

  const post = (w: Workspace, key: string | undefined, body: Record<string, unknown>) => {
    const request = w.t.http.post('/api/webhooks/events').set(bearer(w.publisher));
    return (key === undefined ? request : request.set('Idempotency-Key', key)).send(body);
  };

  const body = { type: 'customer.created', data: { id: 'c_1', email: 'a@example.com' } };

  it('answers a repeated request with the first publication and fans out once', async () => {
    const { w, receiver } = await workspaceWithReceiver();
    const first = await post(w, 'order-42', body).expect(202);
    const again = await post(w, 'order-42', body).expect(202);
    // The same data with its keys in another order is the same request.
    const reordered = await post(w, 'order-42', {
      data: { email: 'a@example.com', id: 'c_1' },
      type: 'customer.created',
    }).expect(202);
    expect((first.body as PublicationBody).webhook_event_ids).toHaveLength(1);
    expect(again.body).toEqual(first.body);
    expect(reordered.body).toEqual(first.body);

    await receiver.waitFor(1);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received.map(webhookIdOf)).toEqual(first.body.webhook_event_ids);
    expect((await listEvents(w)).map((e) => e.id)).toEqual(first.body.webhook_event_ids);
  });

  it('concurrent requests with one key make one publication', async () => {
    const { w, receiver } = await workspaceWithReceiver();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => post(w, 'concurrent', body).expect(202)),
    );
    for (const response of responses) expect(response.body).toEqual(responses[0].body);
    await receiver.waitFor(1);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received).toHaveLength(1);
    expect(await listEvents(w)).toHaveLength(1);
  });

  it('rejects the key reused with a different body with 422, publishing nothing', async () => {
    const { w, receiver } = await workspaceWithReceiver();
    const first = await post(w, 'reused', body).expect(202);
    for (const other of [
      { ...body, data: { id: 'c_2' } },
      { ...body, type: 'customer.updated' },
    ]) {
      const response = await post(w, 'reused', other).expect(422);
      expect(response.body).toMatchObject({
        error: 'RequestValidationError',
        detail: [expect.objectContaining({ loc: ['header', 'idempotency-key'] })],
      });
    }
    await receiver.waitFor(1);
    await pause(QUIET_PERIOD_MS);
    expect(receiver.received.map(webhookIdOf)).toEqual(first.body.webhook_event_ids);
  });

  it('keys are per workspace: the same key elsewhere is an independent publication', async () => {
    const a = await workspaceWithReceiver();
    const b = await workspaceWithReceiver();
    const inA = await post(a.w, 'shared-key', body).expect(202);
    const inB = await post(b.w, 'shared-key', body).expect(202);
    expect(inB.body.id).not.toBe(inA.body.id);
    expect(inB.body.workspace_id).toBe(b.w.workspaceId);
    const [toA] = await a.receiver.waitFor(1);
    const [toB] = await b.receiver.waitFor(1);
    expect(webhookIdOf(toA)).toBe(inA.body.webhook_event_ids[0]);
    expect(webhookIdOf(toB)).toBe(inB.body.webhook_event_ids[0]);
  });

  it('without a key every request is a new publication', async () => {
    const { w, receiver } = await workspaceWithReceiver();
    const first = await post(w, undefined, body).expect(202);
    const second = await post(w, undefined, body).expect(202);
    expect(second.body.id).not.toBe(first.body.id);
    await receiver.waitFor(2);
  });

  it.each([['x'.repeat(256)], ['has space'], ['tab\tkey']])(
    'rejects a malformed key %#',
    async (key) => {
      const { w } = await workspaceWithReceiver();
      const response = await post(w, key, body).expect(422);
      expect(response.body.detail[0].loc).toEqual(['header', 'idempotency-key']);
      expect(await listEvents(w)).toHaveLength(0);
    },
  );
});
