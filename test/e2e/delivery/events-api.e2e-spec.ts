import { Receiver, startReceiver } from '../../support/receiver';
import { bearer } from '../../support/test-app';
import {
  DeliveryApp,
  DeliveryBody,
  EndpointBody,
  WebhookEventBody,
  createEndpoint,
  getEvent,
  listDeliveries,
  listEvents,
  newWorkspace,
  patchEndpoint,
  publish,
  startDeliveryApp,
  tally,
  waitForDeliveries,
  waitForEvent,
  webhookIdOf,
} from './delivery-helpers';

/** What a WebhookEvent of the seeded history should look like. */
interface Expected {
  endpointId: string;
  type: string;
  succeeded: boolean | null;
  skipped: boolean;
}

/**
 * GET /events and /events/{id} and GET /deliveries over a real delivery history: one endpoint
 * that succeeds, one that always fails, one disabled while an event to it is in flight.
 */
describe('webhook events and deliveries read side', () => {
  let app: DeliveryApp;
  const receivers: Record<'ok' | 'fail' | 'skip', Receiver> = {} as never;
  const endpoints: Record<'ok' | 'fail' | 'skip', EndpointBody> = {} as never;
  /** Expected state of every WebhookEvent, by id. */
  const oracle = new Map<string, Expected>();

  beforeAll(async () => {
    app = await startDeliveryApp();
    receivers.ok = await startReceiver();
    receivers.fail = await startReceiver({ respond: () => ({ status: 500, body: 'broken' }) });
    receivers.skip = await startReceiver({ respond: () => ({ status: 503, delayMs: 1500 }) });
    endpoints.ok = await createEndpoint(app, {
      url: `${receivers.ok.url}ok`,
      events: ['customer.created', 'share.created'],
    });
    endpoints.fail = await createEndpoint(app, {
      url: `${receivers.fail.url}fail`,
      events: ['customer.created'],
    });
    endpoints.skip = await createEndpoint(app, {
      url: `${receivers.skip.url}skip`,
      format: 'slack',
      events: ['share.created'],
    });
    for (const key of ['ok', 'fail', 'skip'] as const) {
      receivers[key].setSecret(endpoints[key].secret);
    }

    const expect1 = (id: string, key: keyof typeof endpoints, type: string) => {
      const succeeded = key === 'ok' ? true : key === 'fail' ? false : null;
      oracle.set(id, { endpointId: endpoints[key].id, type, succeeded, skipped: key === 'skip' });
    };
    const c1 = await publish(app, 'customer.created', { id: 'c_1' });
    expect1(c1.webhook_event_ids[0], 'ok', 'customer.created');
    expect1(c1.webhook_event_ids[1], 'fail', 'customer.created');
    const s1 = await publish(app, 'share.created', { id: 's_1' });
    expect1(s1.webhook_event_ids[0], 'ok', 'share.created');
    expect1(s1.webhook_event_ids[1], 'skip', 'share.created');
    await receivers.skip.waitFor(1);
    await patchEndpoint(app, endpoints.skip.id, { enabled: false });
    const c2 = await publish(app, 'customer.created', { id: 'c_2' });
    expect1(c2.webhook_event_ids[0], 'ok', 'customer.created');
    expect1(c2.webhook_event_ids[1], 'fail', 'customer.created');
    const s2 = await publish(app, 'share.created', { id: 's_2' });
    expect(s2.webhook_event_ids).toHaveLength(1);
    expect1(s2.webhook_event_ids[0], 'ok', 'share.created');

    for (const [id, expected] of oracle) {
      await waitForEvent(app, id, (e) =>
        expected.skipped ? e.skipped : e.succeeded === expected.succeeded,
      );
    }
    // The held attempt to the disabled endpoint is recorded when it ends.
    await waitForDeliveries(app, s1.webhook_event_ids[1], 1);
  });
  afterAll(async () => {
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    await app.t.close();
  });

  const idsOf = (events: readonly WebhookEventBody[]) => events.map((e) => e.id);
  /** The oracle's ids matching `keep`, newest first (ids are time-ordered UUIDv7). */
  const expected = (keep: (e: Expected) => boolean) =>
    [...oracle.entries()]
      .filter(([, e]) => keep(e))
      .map(([id]) => id)
      .sort()
      .reverse();

  it('lists every event, newest first, each as GET /events/{id} shows it', async () => {
    const all = await listEvents(app);
    const sorted = [...all].sort((a, b) =>
      a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1,
    );
    expect(idsOf(all)).toEqual(idsOf(sorted));
    expect(new Set(idsOf(all))).toEqual(new Set(oracle.keys()));
    for (const event of all) {
      const o = oracle.get(event.id)!;
      expect(event).toMatchObject({
        webhook_endpoint_id: o.endpointId,
        type: o.type,
        succeeded: o.succeeded,
        skipped: o.skipped,
        is_archived: false,
      });
      expect(await getEvent(app, event.id)).toEqual(event);
    }
  });

  it.each<[string, Record<string, string | string[]>, (e: Expected) => boolean]>([
    ['endpoint_id', { endpoint_id: 'ok' }, (e) => e.endpointId === endpoints.ok.id],
    [
      'endpoint_id repeated',
      { endpoint_id: ['ok', 'skip'] },
      (e) => e.endpointId !== endpoints.fail.id,
    ],
    ['event_type', { event_type: 'share.created' }, (e) => e.type === 'share.created'],
    ['succeeded=true', { succeeded: 'true' }, (e) => e.succeeded === true],
    ['succeeded=false', { succeeded: 'false' }, (e) => e.succeeded === false],
    ['skipped=true', { skipped: 'true' }, (e) => e.skipped],
    ['skipped=false', { skipped: 'false' }, (e) => !e.skipped],
    [
      'event_type and succeeded',
      { event_type: 'customer.created', succeeded: 'false' },
      (e) => e.type === 'customer.created' && e.succeeded === false,
    ],
    [
      'endpoint_id, event_type and skipped',
      { endpoint_id: 'skip', event_type: 'share.created', skipped: 'true' },
      (e) => e.endpointId === endpoints.skip.id,
    ],
    ['endpoint_id and succeeded (none)', { endpoint_id: 'fail', succeeded: 'true' }, () => false],
  ])('filters by %s', async (_name, query, keep) => {
    const resolved = Object.fromEntries(
      Object.entries(query).map(([k, v]) => [
        k,
        k === 'endpoint_id'
          ? [v].flat().map((key) => endpoints[key as keyof typeof endpoints].id)
          : v,
      ]),
    );
    expect(idsOf(await listEvents(app, resolved))).toEqual(expected(keep));
  });

  it('paginates with the list meta', async () => {
    const response = await app.t.http
      .get('/api/webhooks/events')
      .query({ limit: 2, page: 2 })
      .set(bearer(app.token))
      .expect(200);
    expect(response.body.meta).toEqual({ total: oracle.size, page: 2, per_page: 2, pages: 4 });
    expect(idsOf(response.body.data)).toEqual(expected(() => true).slice(2, 4));
  });

  it('hides events from other workspaces: empty list and 404', async () => {
    const stranger = await newWorkspace(app.t);
    const [someId] = oracle.keys();
    const list = await app.t.http
      .get('/api/webhooks/events')
      .set(bearer(stranger.token))
      .expect(200);
    expect(list.body.meta.total).toBe(0);
    await app.t.http.get(`/api/webhooks/events/${someId}`).set(bearer(stranger.token)).expect(404);
    // A read-only token of the workspace does see them.
    const { token: reader } = await app.t.workspaceToken(['webhooks:read'], app.workspaceId);
    await app.t.http.get(`/api/webhooks/events/${someId}`).set(bearer(reader)).expect(200);
  });

  it.each([
    ['succeeded', 'maybe'],
    ['skipped', 'yes please'],
    ['endpoint_id', 'not-a-uuid'],
    ['event_type', 'customer.exploded'],
  ])('rejects %s=%s with 422', async (name, value) => {
    await app.t.http
      .get('/api/webhooks/events')
      .query({ [name]: value })
      .set(bearer(app.token))
      .expect(422);
  });

  it('lists exactly the attempts each receiver logged', async () => {
    const deliveries = await listDeliveries(app);
    for (const key of ['ok', 'fail', 'skip'] as const) {
      const mine = deliveries.filter((d) => d.webhook_endpoint_id === endpoints[key].id);
      expect(tally(mine, (d) => d.webhook_event.id)).toEqual(
        tally(receivers[key].received, webhookIdOf),
      );
      expect(receivers[key].received.every((r) => r.verified)).toBe(true);
    }
    const codes = (list: DeliveryBody[]) => [...new Set(list.map((d) => d.http_code))];
    const byEndpoint = (key: keyof typeof endpoints) =>
      deliveries.filter((d) => d.webhook_endpoint_id === endpoints[key].id);
    expect(codes(byEndpoint('ok'))).toEqual([200]);
    expect(codes(byEndpoint('fail'))).toEqual([500]);
    expect(codes(byEndpoint('skip'))).toEqual([503]);
    expect(byEndpoint('fail')).toHaveLength(2 * 4);

    const failed = await listDeliveries(app, { succeeded: 'false', http_code_class: '5xx' });
    expect(failed.map((d) => d.id).sort()).toEqual(
      [...byEndpoint('fail'), ...byEndpoint('skip')].map((d) => d.id).sort(),
    );
    const shares = await listDeliveries(app, { event_type: 'share.created' });
    expect(new Set(shares.map((d) => d.webhook_event.type))).toEqual(new Set(['share.created']));
    expect(shares).toHaveLength(3);
  });
});
