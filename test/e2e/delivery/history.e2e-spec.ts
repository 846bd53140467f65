import { uuidv7 } from '../../../src/common/ids';
import { bearer } from '../../support/test-app';
import {
  EndpointBody,
  createEndpoint,
  deliveriesOf,
  getEvent,
  newWorkspace,
  patchEndpoint,
  redeliver,
  useDeliveryApp,
  waitForDeliveries,
  waitForEvent,
} from './delivery-helpers';

interface HistoryEntryBody {
  position: number;
  revision: number;
  type: string;
  recorded_at: string;
  data: Record<string, unknown>;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** GET /events/{id}/history and /endpoints/{id}/history: audit trails from the event store. */
describe('history', () => {
  const delivery = useDeliveryApp({ WEBHOOK_RETRY_SCHEDULE: '100ms,200ms' });

  async function history(
    w: { t: typeof delivery.app.t; token: string },
    path: string,
  ): Promise<HistoryEntryBody[]> {
    const response = await w.t.http.get(path).set(bearer(w.token)).expect(200);
    const entries = (response.body as { data: HistoryEntryBody[] }).data;
    // Oldest first, in the stream's order, each with its store position and recording time.
    expect(entries.map((e) => e.revision)).toEqual(entries.map((_, i) => i));
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i].position).toBeGreaterThan(entries[i - 1].position);
    }
    for (const entry of entries) expect(entry.recorded_at).toMatch(ISO_UTC);
    return entries;
  }

  it("an event's history matches its deliveries one to one, redelivery included", async () => {
    const { w, publishOne } = await delivery.endpointWithReceiver({
      respond: (_request, index) => (index === 0 ? { status: 503 } : { status: 200 }),
    });
    const eventId = await publishOne('c_1');
    await waitForEvent(w, eventId, (e) => e.succeeded === true);
    await redeliver(w, eventId);
    await waitForDeliveries(w, eventId, 3);

    const entries = await history(w, `/api/webhooks/events/${eventId}/history`);
    expect(entries.map((e) => e.type)).toEqual([
      'WebhookEventCreated',
      'DeliveryAttempted',
      'DeliveryAttempted',
      'WebhookEventRedeliveryRequested',
      'DeliveryAttempted',
    ]);
    const event = await getEvent(w, eventId);
    expect(entries[0].data).toMatchObject({
      webhook_event_id: eventId,
      endpoint_id: event.webhook_endpoint_id,
      event_type: 'customer.created',
      payload: event.payload,
      created_at: event.created_at,
    });
    const attempts = entries.filter((e) => e.type === 'DeliveryAttempted').map((e) => e.data);
    const deliveries = await deliveriesOf(w, eventId);
    expect(attempts.map((a) => a.delivery_id)).toEqual(deliveries.map((d) => d.id));
    expect(attempts.map((a) => [a.http_code, a.succeeded, a.duration_ms])).toEqual(
      deliveries.map((d) => [d.http_code, d.succeeded, d.duration_ms]),
    );
    expect(attempts.map((a) => a.http_code)).toEqual([503, 200, 200]);
    // The failed first attempt scheduled a retry; the successes ended their budgets.
    expect(attempts.map((a) => a.retry_at === null)).toEqual([false, true, true]);
  });

  it("an endpoint's history shows every change, never a secret, and outlives its deletion", async () => {
    const w = { t: delivery.app.t, ...(await newWorkspace(delivery.app.t)) };
    const created = await createEndpoint(w, { url: 'https://example.com/hooks' });
    await patchEndpoint(w, created.id, {
      url: 'https://example.com/hooks/v2',
      events: ['customer.created', 'customer.updated'],
    });
    const rotated = (
      await w.t.http
        .patch(`/api/webhooks/endpoints/${created.id}/secret`)
        .set(bearer(w.token))
        .expect(200)
    ).body as EndpointBody;
    await patchEndpoint(w, created.id, { enabled: false });
    await patchEndpoint(w, created.id, { enabled: true });
    await w.t.http.delete(`/api/webhooks/endpoints/${created.id}`).set(bearer(w.token)).expect(204);
    await w.t.http.get(`/api/webhooks/endpoints/${created.id}`).set(bearer(w.token)).expect(404);

    const response = await w.t.http
      .get(`/api/webhooks/endpoints/${created.id}/history`)
      .set(bearer(w.token))
      .expect(200);
    expect(response.text).not.toContain(created.secret);
    expect(response.text).not.toContain(rotated.secret);
    expect(response.text).not.toContain('whsec_');
    const entries = await history(w, `/api/webhooks/endpoints/${created.id}/history`);
    expect(entries.map((e) => e.type)).toEqual([
      'WebhookEndpointCreated',
      'WebhookEndpointUpdated',
      'WebhookEndpointSecretRotated',
      'WebhookEndpointDisabled',
      'WebhookEndpointEnabled',
      'WebhookEndpointDeleted',
    ]);
    expect(entries[0].data).toMatchObject({
      endpoint_id: created.id,
      workspace_id: w.workspaceId,
      url: 'https://example.com/hooks',
      format: 'raw',
      events: ['customer.created'],
    });
    expect(entries[0].data).not.toHaveProperty('secret');
    expect(entries[1].data).toMatchObject({
      url: 'https://example.com/hooks/v2',
      events: ['customer.created', 'customer.updated'],
    });
    expect(entries[2].data).toEqual({
      endpoint_id: created.id,
      previous_secret_expires_at: expect.stringMatching(ISO_UTC),
      modified_at: expect.stringMatching(ISO_UTC),
    });
  });

  it('answers 404 outside the workspace or for an unknown id, 422 for a bad id, 403 without read scope', async () => {
    const { w, publishOne, endpoint } = await delivery.endpointWithReceiver();
    const eventId = await publishOne('c_2');
    const other = { t: w.t, ...(await newWorkspace(w.t)) };
    const paths = [
      `/api/webhooks/events/${eventId}/history`,
      `/api/webhooks/endpoints/${endpoint.id}/history`,
    ];
    for (const path of paths) {
      await w.t.http.get(path).set(bearer(w.token)).expect(200);
      const hidden = await w.t.http.get(path).set(bearer(other.token)).expect(404);
      expect(hidden.body).toEqual({ error: 'ResourceNotFound', detail: 'Not found' });
      await w.t.http.get(path).set(bearer(w.publisher)).expect(403);
      await w.t.http.get(path).expect(401);
    }
    for (const kind of ['events', 'endpoints']) {
      await w.t.http
        .get(`/api/webhooks/${kind}/${uuidv7()}/history`)
        .set(bearer(w.token))
        .expect(404);
      const bad = await w.t.http
        .get(`/api/webhooks/${kind}/not-a-uuid/history`)
        .set(bearer(w.token))
        .expect(422);
      expect(bad.body).toMatchObject({ error: 'RequestValidationError' });
    }
  });
});
