import type { Statement } from 'better-sqlite3';
import { PageRequest, offsetOf } from '../../common/pagination';
import { RecordedEvent } from '../../eventstore/event-store';
import { AppendOnlyLists } from '../../eventstore/sqlite/append-only-lists';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { Conditions, selectPage } from '../../eventstore/sqlite/sql-conditions';
import { RowWriter } from '../../projections/sqlite/row-writer';
import { TableNames, ensureIndexes } from '../../projections/sqlite/schema';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import {
  WEBHOOK_EVENT_STREAM_PREFIX,
  WebhookEvent,
  WebhookEventEvent,
  evolve,
} from '../../delivery/webhook-event';
import {
  DeliveriesRepository,
  Delivery,
  DeliveryListQuery,
  WebhookEventListQuery,
} from '../deliveries.repository';

/** The tables, named for the live read model or a replay's shadow copy of it. */
function createSchema(
  db: SqliteDatabase,
  names: TableNames,
): { events: string; deliveries: string } {
  const events = names.of('webhook_events');
  const deliveries = names.of('deliveries');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${events} (
      id TEXT PRIMARY KEY,
      endpoint_id TEXT NOT NULL,
      workspace_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      -- outcome (NULL while pending) and when it last changed: the endpoint-health query
      event_type TEXT NOT NULL,
      succeeded INTEGER,
      skipped INTEGER NOT NULL,
      modified_at TEXT,
      -- The webhook event's state. When payload_at is set, its payload there is null and the
      -- payload is read from the log (the data of the event at that position, its
      -- WebhookEventCreated) rather than kept twice. NULL: the payload is the doc's (null once
      -- archived).
      doc TEXT NOT NULL,
      payload_at INTEGER
    );
    CREATE TABLE IF NOT EXISTS ${deliveries} (
      id TEXT PRIMARY KEY,
      webhook_event_id TEXT NOT NULL,
      endpoint_id TEXT NOT NULL,
      workspace_id TEXT NOT NULL,
      event_type TEXT NOT NULL,
      created_at TEXT NOT NULL,
      succeeded INTEGER NOT NULL,
      http_code INTEGER,
      response TEXT,
      duration_ms INTEGER NOT NULL
    );
  `);
  migratePayloadAt(db, events);
  // Indexes are ascending and read backwards for the newest-first lists: new keys are the
  // largest, so they land on the last leaf page. In a DESC index they would land on the first,
  // where SQLite splits pages half empty: more pages written by every commit. Indexes of earlier
  // versions (DESC ones; narrower list indexes) are dropped, which on a large file takes a while
  // at the first start.
  ensureIndexes(db, names, events, {
    webhook_events_by_workspace_created: '(workspace_id, created_at, id)',
    // id: ties in modified_at break by id, not by rowid (a replay may order rows differently).
    webhook_events_completed_by_endpoint:
      '(endpoint_id, modified_at, id) WHERE succeeded IS NOT NULL',
  });
  // Every list of deliveries walks one of these, newest first, for one workspace or one endpoint
  // (the first two columns), and finds each filter's column in it: neither counting a list nor
  // walking the entries before a page reads the table.
  ensureIndexes(db, names, deliveries, {
    deliveries_by_workspace_listed:
      '(workspace_id, created_at, id, endpoint_id, event_type, succeeded, http_code, webhook_event_id)',
    deliveries_by_endpoint_listed:
      '(endpoint_id, created_at, id, workspace_id, event_type, succeeded, http_code, webhook_event_id)',
  });
  return { events, deliveries };
}

/**
 * A table made by a version before payload_at gets the column, and its rows their payload
 * moved out to the log: each webhook event's payload is its WebhookEventCreated's (revision 0 of
 * its stream), found by the log's unique (stream, revision) index. Archived rows keep theirs
 * (null). Runs once, at the first start of this version on such a file.
 */
function migratePayloadAt(db: SqliteDatabase, table: string): void {
  const columns = db
    .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
    .all()
    .map((c) => c.name);
  if (columns.includes('payload_at')) return;
  db.exec(`ALTER TABLE ${table} ADD COLUMN payload_at INTEGER`);
  db.prepare(
    `UPDATE ${table} SET
       payload_at = (SELECT l.position FROM events l
                     WHERE l.stream_id = '${WEBHOOK_EVENT_STREAM_PREFIX}' || ${table}.id
                       AND l.revision = 0 AND l.type = 'WebhookEventCreated'),
       doc = json_set(doc, '$.payload', NULL)
     WHERE json_extract(doc, '$.isArchived') = 0
       AND EXISTS (SELECT 1 FROM events l
                   WHERE l.stream_id = '${WEBHOOK_EVENT_STREAM_PREFIX}' || ${table}.id
                     AND l.revision = 0 AND l.type = 'WebhookEventCreated')`,
  ).run();
}

/**
 * The payload of a webhook event row aliased `e`: from the log when the row points at it
 * (NULL otherwise, and the doc has it).
 */
const PAYLOAD_FROM_LOG = `(SELECT l.data ->> '$.payload' FROM events l WHERE l.position = e.payload_at)`;

/** A row's webhook event: its doc, with the payload from the log where the row points at it. */
function webhookEventOf(doc: string, payload: string | null): WebhookEvent {
  const event = JSON.parse(doc) as WebhookEvent;
  if (payload !== null) event.payload = payload;
  return event;
}

/** Past this many workspaces or endpoints, a list is one walk and a sort rather than a merge. */
const MAX_MERGED_PARTS = 64;

interface DeliveryRow {
  rowid: number;
  id: string;
  created_at: string;
  endpoint_id: string;
  succeeded: number;
  http_code: number | null;
  response: string | null;
  duration_ms: number;
  event_doc: string;
  event_payload: string | null;
}

interface ReadStatements {
  event: Statement<[string], { doc: string; payload: string | null }>;
  deliveriesAt: Statement<[string], DeliveryRow>;
}

/** A webhook event row as the fold reads it back: the doc, and where its payload is. */
interface StoredEvent {
  doc: string;
  payload_at: number | null;
}

/** The webhook events and deliveries read models in the embedded database. */
export class SqliteDeliveries implements SqliteProjection, DeliveriesRepository {
  readonly name = 'deliveries';
  readonly filter = { streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX] };
  private readonly selectStored: Statement<[string], StoredEvent>;
  private readonly eventExists: Statement<[string], number>;
  private readonly upsertEvents: RowWriter;
  private readonly insertDeliveries: RowWriter;
  private readonly lists: AppendOnlyLists;

  readonly tables: readonly string[];
  private readonly events: string;
  private readonly deliveries: string;

  constructor(
    private readonly db: SqliteDatabase,
    names = new TableNames(),
  ) {
    // One transaction: replacing the indexes of an earlier version is all or nothing.
    const { events, deliveries } = db.transaction(() => createSchema(db, names)).immediate();
    this.events = events;
    this.deliveries = deliveries;
    this.tables = [events, deliveries];
    this.selectStored = db.prepare(`SELECT doc, payload_at FROM ${events} WHERE id = ?`);
    this.eventExists = db.prepare<[string], number>(`SELECT 1 FROM ${events} WHERE id = ?`).pluck();
    this.upsertEvents = new RowWriter(
      db,
      `INSERT INTO ${events}
         (id, endpoint_id, workspace_id, created_at, event_type, succeeded, skipped, modified_at, doc, payload_at)`,
      10,
      `ON CONFLICT (id) DO UPDATE SET succeeded = excluded.succeeded, skipped = excluded.skipped,
         modified_at = excluded.modified_at, doc = excluded.doc, payload_at = excluded.payload_at`,
    );
    this.insertDeliveries = new RowWriter(
      db,
      `INSERT OR IGNORE INTO ${deliveries}
         (id, webhook_event_id, endpoint_id, workspace_id, event_type, created_at, succeeded, http_code, response, duration_ms)`,
      10,
    );
    // Deliveries are only ever inserted (reset empties the table): their lists are append-only.
    this.lists = new AppendOnlyLists(db, `${deliveries} d`, 'd');
  }

  /**
   * Statements that read the payload from the log: made at first use, since a rebuild's scratch
   * file has the read models without the log.
   */
  private get reads(): ReadStatements {
    this.readStatements ??= {
      event: this.db.prepare(
        `SELECT e.doc, ${PAYLOAD_FROM_LOG} AS payload FROM ${this.events} e WHERE e.id = ?`,
      ),
      deliveriesAt: this.db.prepare(
        `SELECT d.rowid AS rowid, d.id, d.created_at, d.endpoint_id, d.succeeded, d.http_code,
           d.response, d.duration_ms, e.doc AS event_doc, ${PAYLOAD_FROM_LOG} AS event_payload
         FROM ${this.deliveries} d JOIN ${this.events} e ON e.id = d.webhook_event_id
         WHERE d.rowid IN (SELECT value FROM json_each(?))`,
      ),
    };
    return this.readStatements;
  }

  private readStatements?: ReadStatements;

  apply(recorded: RecordedEvent): void {
    this.applyBatch([recorded]);
  }

  /**
   * Folds the batch in memory, then writes each webhook event once: a row is read only when the
   * batch does not create it, and written once however many of its events the batch holds (a
   * creation and its attempts are usually close together in the log).
   */
  applyBatch(batch: readonly RecordedEvent[]): void {
    const states = new Map<string, WebhookEvent>();
    /** Per webhook event of the batch, the position its payload is read from (null: the doc). */
    const payloadAt = new Map<string, number | null>();
    const attempts: unknown[][] = [];
    for (const recorded of batch) {
      const event = recorded as unknown as WebhookEventEvent;
      const id = event.data.webhookEventId;
      // A creation needs no earlier state: no read.
      const created = event.type === 'WebhookEventCreated';
      const previous = created ? null : (states.get(id) ?? this.findStoredSync(id, payloadAt));
      const next = evolve(previous, event);
      if (!next) continue;
      if (created) payloadAt.set(id, recorded.position);
      // Archived: the payload is gone from the read side (the doc says null).
      if (next.isArchived) payloadAt.set(id, null);
      states.set(id, next);
      if (event.type === 'DeliveryAttempted') {
        const d = event.data;
        attempts.push([
          d.deliveryId,
          next.id,
          d.endpointId,
          next.workspaceId,
          next.eventType,
          d.attemptedAt,
          d.succeeded ? 1 : 0,
          d.httpCode,
          d.response,
          d.durationMs,
        ]);
      }
    }
    this.insertDeliveries.write(attempts);
    this.upsertEvents.write(
      [...states.values()].map((next) => {
        const at = payloadAt.get(next.id) ?? null;
        return [
          next.id,
          next.endpointId,
          next.workspaceId,
          next.createdAt,
          next.eventType,
          next.succeeded === null ? null : next.succeeded ? 1 : 0,
          next.skipped ? 1 : 0,
          next.modifiedAt,
          // null in place (not left out): the doc keeps its fields' order whichever way it was
          // written, so a rebuild writes the very same text.
          JSON.stringify(at === null ? next : { ...next, payload: null }),
          at,
        ];
      }),
    );
  }

  reset(): void {
    this.db.exec(`DELETE FROM ${this.deliveries}; DELETE FROM ${this.events};`);
    this.lists.clear();
  }

  async findEvent(id: string): Promise<WebhookEvent | null> {
    return this.findEventSync(id);
  }

  async hasEvent(id: string): Promise<boolean> {
    return this.eventExists.get(id) !== undefined;
  }

  private findEventSync(id: string): WebhookEvent | null {
    const row = this.reads.event.get(id);
    return row ? webhookEventOf(row.doc, row.payload) : null;
  }

  /**
   * A webhook event as the fold needs it: its doc, whose payload is null where the row points at
   * the log for it (the fold carries the payload along but never reads it); notes where that is.
   */
  private findStoredSync(id: string, payloadAt: Map<string, number | null>): WebhookEvent | null {
    const row = this.selectStored.get(id);
    if (!row) return null;
    payloadAt.set(id, row.payload_at);
    return JSON.parse(row.doc) as WebhookEvent;
  }

  async recentOutcomes(endpointId: string, count: number, since: string): Promise<boolean[]> {
    return this.db
      .prepare<[string, string, number], { succeeded: number }>(
        `SELECT succeeded FROM ${this.events}
         WHERE endpoint_id = ? AND succeeded IS NOT NULL AND modified_at > ?
         ORDER BY modified_at DESC, id DESC LIMIT ?`,
      )
      .all(endpointId, since, count)
      .map((r) => r.succeeded === 1);
  }

  async listEvents(
    query: WebhookEventListQuery,
  ): Promise<{ items: WebhookEvent[]; total: number }> {
    if (query.workspaceIds.length === 0) return { items: [], total: 0 };
    const where = new Conditions();
    where.anyOf('workspace_id', query.workspaceIds);
    if (query.endpointIds) where.anyOf('endpoint_id', query.endpointIds);
    if (query.eventTypes) where.anyOf('event_type', query.eventTypes);
    if (query.succeeded === null) where.add('succeeded IS NULL');
    else if (query.succeeded !== undefined) where.add('succeeded = ?', query.succeeded ? 1 : 0);
    if (query.skipped !== undefined) where.add('skipped = ?', query.skipped ? 1 : 0);
    const { rows, total } = selectPage<{ doc: string; payload: string | null }>(this.db, {
      columns: `e.doc, ${PAYLOAD_FROM_LOG} AS payload`,
      from: `${this.events} e`,
      where,
      orderBy: 'created_at DESC, id DESC',
      limit: query.page.limit,
      offset: offsetOf(query.page),
    });
    return { items: rows.map((r) => webhookEventOf(r.doc, r.payload)), total };
  }

  async list(query: DeliveryListQuery): Promise<{ items: Delivery[]; total: number }> {
    const workspaceIds = [...new Set(query.workspaceIds)];
    if (workspaceIds.length === 0) return { items: [], total: 0 };
    // Every delivery has its webhook event (an attempt on an unknown event is not projected), so
    // the lists and their totals need no join: only the page's rows are joined to their event.
    return this.lists.page(
      { ...deliveryLists(query, workspaceIds), ...pageRange(query.page) },
      (rowids) => {
        const rows = new Map(
          this.reads.deliveriesAt.all(JSON.stringify(rowids)).map((row) => [row.rowid, row]),
        );
        return rowids.map((rowid) => toDelivery(rows.get(rowid)!));
      },
    );
  }
}

function pageRange(page: PageRequest): { offset: number; limit: number } {
  return { offset: offsetOf(page), limit: page.limit };
}

/**
 * The deliveries a query lists: as one condition, and as disjoint parts that an index each yields
 * newest first (one per endpoint when endpoints are named, else one per workspace), merged.
 */
function deliveryLists(
  query: DeliveryListQuery,
  workspaceIds: readonly string[],
): { where: Conditions; parts: Conditions[] } {
  const filters = deliveryFilters(query);
  const endpointIds = query.endpointIds && [...new Set(query.endpointIds)];
  // By endpoint, the workspaces only check access: `+` keeps them from choosing the index.
  const scope = endpointIds
    ? (ids: readonly string[]) =>
        new Conditions().anyOf('d.endpoint_id', ids).anyOf('+d.workspace_id', workspaceIds)
    : (ids: readonly string[]) => new Conditions().anyOf('d.workspace_id', ids);
  const ids = endpointIds ?? workspaceIds;
  const where = scope(ids).and(filters);
  const parts =
    ids.length > 1 && ids.length <= MAX_MERGED_PARTS
      ? ids.map((id) => scope([id]).and(filters))
      : [where];
  return { where, parts };
}

/** The filters other than workspaces and endpoints. */
function deliveryFilters(query: DeliveryListQuery): Conditions {
  const where = new Conditions();
  if (query.eventTypes) where.anyOf('d.event_type', query.eventTypes);
  if (query.after !== undefined) where.add('d.created_at > ?', new Date(query.after).toISOString());
  if (query.before !== undefined)
    where.add('d.created_at < ?', new Date(query.before).toISOString());
  if (query.succeeded !== undefined) where.add('d.succeeded = ?', query.succeeded ? 1 : 0);
  if (query.httpCodeClass) {
    const base = Number(query.httpCodeClass[0]) * 100;
    where.add('d.http_code >= ? AND d.http_code < ?', base, base + 100);
  }
  if (query.text !== undefined) {
    // instr() has no wildcards, so % and _ in the query are matched literally.
    const text = query.text.toLowerCase();
    where.add(
      '(instr(lower(d.id), ?) > 0 OR instr(lower(d.webhook_event_id), ?) > 0 OR instr(CAST(d.http_code AS TEXT), ?) > 0)',
      text,
      text,
      text,
    );
  }
  return where;
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    createdAt: row.created_at,
    endpointId: row.endpoint_id,
    succeeded: row.succeeded === 1,
    httpCode: row.http_code,
    response: row.response,
    durationMs: row.duration_ms,
    webhookEvent: webhookEventOf(row.event_doc, row.event_payload),
  };
}
