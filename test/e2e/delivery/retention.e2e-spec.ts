import { bearer } from '../../support/test-app';
import { deliveriesOf, getEvent, pause, useDeliveryApp, waitForEvent } from './delivery-helpers';

const DAY_MS = 24 * 3600_000;
/** Short enough to see an event archived, long enough that one published just now is not. */
const RETENTION_MS = 1500;

interface HistoryEntryBody {
  type: string;
  data: Record<string, unknown>;
}

/** WEBHOOK_EVENT_RETENTION_DAYS: a scheduled job archives payloads past the retention period. */
describe('retention', () => {
  const delivery = useDeliveryApp({
    WEBHOOK_EVENT_RETENTION_DAYS: String(RETENTION_MS / DAY_MS),
    WEBHOOK_RETENTION_CHECK_INTERVAL: '100ms',
  });

  it('archives payloads past the period: payload null, is_archived, no redelivery, history kept', async () => {
    const { w, publishOne, receiver } = await delivery.endpointWithReceiver();
    const old = await publishOne('c_old');
    const delivered = await waitForEvent(w, old, (e) => e.succeeded === true);
    expect(delivered).toMatchObject({ is_archived: false, payload: receiver.received[0].body });

    const archived = await waitForEvent(w, old, (e) => e.is_archived);
    expect(archived).toMatchObject({ payload: null, succeeded: true, last_http_code: 200 });
    expect(Date.now() - Date.parse(delivered.created_at)).toBeGreaterThanOrEqual(RETENTION_MS);
    // Within the period: kept.
    const fresh = await publishOne('c_new');
    await waitForEvent(w, fresh, (e) => e.succeeded === true);
    expect(await getEvent(w, fresh)).toMatchObject({ is_archived: false });

    const refused = await w.t.http
      .post(`/api/webhooks/events/${old}/redeliver`)
      .set(bearer(w.token))
      .expect(422);
    expect(refused.body).toEqual({
      error: 'WebhookEventArchived',
      detail:
        'The webhook event is archived: its payload is no longer kept, so it cannot be redelivered',
    });
    // Its attempts stay listed; the event they carry shows no payload.
    const [attempt] = await deliveriesOf(w, old);
    expect(attempt.webhook_event).toMatchObject({ id: old, payload: null, is_archived: true });
    // The audit trail records the archival and no longer shows the body either.
    const history = (
      await w.t.http.get(`/api/webhooks/events/${old}/history`).set(bearer(w.token)).expect(200)
    ).body as { data: HistoryEntryBody[] };
    expect(history.data.map((e) => e.type)).toEqual([
      'WebhookEventCreated',
      'DeliveryAttempted',
      'WebhookEventArchived',
    ]);
    expect(history.data[0].data.payload).toBeNull();

    // Archived once: later runs append nothing more to it.
    await pause(300);
    const again = (
      await w.t.http.get(`/api/webhooks/events/${old}/history`).set(bearer(w.token)).expect(200)
    ).body as { data: HistoryEntryBody[] };
    expect(again.data).toHaveLength(3);
  });
});
