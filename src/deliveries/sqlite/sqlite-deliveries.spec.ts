import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '../../common/ids';
import { webhookEventStream } from '../../delivery/webhook-event';
import { openSqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { SqliteDeliveries } from './sqlite-deliveries';

/**
 * The webhook events read model keeps each payload once: in the log. A row points at the
 * WebhookEventCreated that holds it (payload_at) and its doc says null; reads put it back.
 */
describe('SqliteDeliveries: payloads read from the log', () => {
  let dir: string;
  let db: Database.Database;
  let store: SqliteEventStore;
  const workspaceId = uuidv7();
  const endpointId = uuidv7();
  // Characters JSON may escape in more than one way: the stored text must not depend on it.
  const payload = JSON.stringify({ type: 'customer.created', data: { name: 'Zoë "Z" / 東京\n' } });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-deliveries-'));
    db = openSqliteDatabase(dir);
    store = new SqliteEventStore(db);
  });

  afterEach(async () => {
    await store.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function created(id = uuidv7()): Promise<{ id: string; position: number }> {
    const { position } = await store.append(
      webhookEventStream(id),
      [
        {
          type: 'WebhookEventCreated',
          data: {
            webhookEventId: id,
            endpointId,
            workspaceId,
            publicationId: uuidv7(),
            eventType: 'customer.created',
            payload,
            createdAt: '2026-12-01T10:00:00.000Z',
          },
        },
      ],
      'no_stream',
    );
    return { id, position };
  }

  const appendTo = (id: string, revision: number, type: string, data: Record<string, unknown>) =>
    store.append(
      webhookEventStream(id),
      [{ type, data: { webhookEventId: id, ...data } }],
      revision,
    );

  const rowOf = (id: string) =>
    db
      .prepare<[string], { doc: string; payload_at: number | null }>(
        'SELECT doc, payload_at FROM webhook_events WHERE id = ?',
      )
      .get(id)!;

  it('stores null in the doc and the position of the payload, and reads the payload back', async () => {
    const deliveries = new SqliteDeliveries(db);
    const event = await created();
    deliveries.applyBatch(store.readAllSync({ fromPosition: 0, maxCount: 100 }));
    const row = rowOf(event.id);
    expect(row.payload_at).toBe(event.position);
    expect(JSON.parse(row.doc).payload).toBeNull();
    expect((await deliveries.findEvent(event.id))!.payload).toBe(payload);

    // An attempt in a later batch: the row is read back without its payload and keeps pointing.
    await appendTo(event.id, 0, 'DeliveryAttempted', {
      deliveryId: uuidv7(),
      endpointId,
      succeeded: true,
      httpCode: 200,
      response: 'ok',
      durationMs: 12,
      attemptedAt: '2026-12-01T10:00:01.000Z',
      retryAt: null,
    });
    deliveries.applyBatch(store.readAllSync({ fromPosition: event.position, maxCount: 100 }));
    expect(rowOf(event.id).payload_at).toBe(event.position);
    const listed = await deliveries.list({
      workspaceIds: [workspaceId],
      page: { page: 1, limit: 10 },
    });
    expect(listed.items.map((d) => [d.httpCode, d.webhookEvent.payload])).toEqual([[200, payload]]);
    const events = await deliveries.listEvents({
      workspaceIds: [workspaceId],
      page: { page: 1, limit: 10 },
    });
    expect(events.items.map((e) => [e.succeeded, e.payload])).toEqual([[true, payload]]);

    // Archived: no pointer, and null it is.
    await appendTo(event.id, 1, 'WebhookEventArchived', { archivedAt: '2026-12-02T00:00:00.000Z' });
    deliveries.applyBatch(store.readAllSync({ fromPosition: event.position + 1, maxCount: 100 }));
    expect(rowOf(event.id).payload_at).toBeNull();
    expect(await deliveries.findEvent(event.id)).toMatchObject({ payload: null, isArchived: true });
  });

  it('moves the payloads of a table written by an earlier version out to the log, once', async () => {
    const kept = await created();
    const archived = await created();
    const state = (id: string, archivedToo: boolean) => ({
      id,
      endpointId,
      workspaceId,
      eventType: 'customer.created',
      payload: archivedToo ? null : payload,
      createdAt: '2026-12-01T10:00:00.000Z',
      modifiedAt: null,
      lastHttpCode: null,
      succeeded: null,
      skipped: false,
      isArchived: archivedToo,
    });
    db.exec(`CREATE TABLE webhook_events (
      id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, workspace_id TEXT NOT NULL,
      created_at TEXT NOT NULL, event_type TEXT NOT NULL, succeeded INTEGER,
      skipped INTEGER NOT NULL, modified_at TEXT, doc TEXT NOT NULL)`);
    const insert = db.prepare(
      `INSERT INTO webhook_events VALUES (?, ?, ?, '2026-12-01T10:00:00.000Z', 'customer.created', NULL, 0, NULL, ?)`,
    );
    insert.run(kept.id, endpointId, workspaceId, JSON.stringify(state(kept.id, false)));
    insert.run(archived.id, endpointId, workspaceId, JSON.stringify(state(archived.id, true)));

    const deliveries = new SqliteDeliveries(db);
    expect(rowOf(kept.id)).toEqual({
      payload_at: kept.position,
      // The very text this version writes for it (what a replay would write: no drift).
      doc: JSON.stringify({ ...state(kept.id, false), payload: null }),
    });
    expect(rowOf(archived.id)).toEqual({
      payload_at: null,
      doc: JSON.stringify(state(archived.id, true)),
    });
    expect((await deliveries.findEvent(kept.id))!.payload).toBe(payload);
    expect((await deliveries.findEvent(archived.id))!.payload).toBeNull();
    // A second start finds the column and changes nothing.
    new SqliteDeliveries(db);
    expect(rowOf(kept.id).payload_at).toBe(kept.position);
  });
});
