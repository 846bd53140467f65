import type { Statement } from 'better-sqlite3';
import { RecordedEvent } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import { DueWork, DueWorkQueue } from '../due-work';
import { WEBHOOK_EVENT_STREAM_PREFIX, WebhookEventEvent } from '../webhook-event';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS due_work (
    webhook_event_id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    attempts_made INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS due_work_by_due ON due_work (due_at, seq);
  CREATE INDEX IF NOT EXISTS due_work_by_endpoint ON due_work (endpoint_id);
`;

interface DueRow {
  webhook_event_id: string;
  endpoint_id: string;
  attempts_made: number;
}

/** The due-work queue in the embedded database: projection of the log plus leased claims. */
export class SqliteDueWork implements SqliteProjection, DueWorkQueue {
  readonly name = 'due_work';
  readonly filter = { streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX] };
  private readonly upsert: Statement<[string, string, number, number, number]>;
  private readonly reschedule: Statement<[number, string]>;
  private readonly remove: Statement<[string]>;
  private readonly leaseDue: Statement<
    [{ now: number; until: number; head: number; limit: number }],
    DueRow & { due_at: number; seq: number }
  >;
  private readonly anyDue: Statement<[number, number, number], number>;
  private readonly selectNextDue: Statement<[{ head: number }], { next: number | null }>;

  /**
   * `durableHead`: the log position known to be on disk. Read models are applied inside the
   * append's transaction, before its sync: work from a later position is not handed out yet.
   */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly durableHead: () => number = () => Number.MAX_SAFE_INTEGER,
  ) {
    db.exec(SCHEMA);
    this.upsert = db.prepare(
      `INSERT INTO due_work (webhook_event_id, endpoint_id, due_at, seq, attempts_made) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (webhook_event_id) DO UPDATE SET due_at = excluded.due_at, seq = excluded.seq,
         attempts_made = excluded.attempts_made, lease_until = 0`,
    );
    this.reschedule = db.prepare(
      'UPDATE due_work SET due_at = ?, attempts_made = attempts_made + 1, lease_until = 0 WHERE webhook_event_id = ?',
    );
    this.remove = db.prepare('DELETE FROM due_work WHERE webhook_event_id = ?');
    // One statement, so one implicit transaction: pick the oldest due items and lease them.
    // RETURNING comes in no particular order; claim() sorts.
    this.leaseDue = db.prepare(
      `UPDATE due_work SET lease_until = @until WHERE webhook_event_id IN (
         SELECT webhook_event_id FROM due_work
         WHERE due_at <= @now AND lease_until <= @now AND seq <= @head
         ORDER BY due_at, seq LIMIT @limit)
       RETURNING webhook_event_id, endpoint_id, attempts_made, due_at, seq`,
    );
    this.anyDue = db
      .prepare<[number, number, number], number>(
        'SELECT 1 FROM due_work WHERE due_at <= ? AND lease_until <= ? AND seq <= ? LIMIT 1',
      )
      .pluck();
    // MIN(MAX(due_at, lease_until)) over the whole table, without scanning it: only rows due
    // before the first unleased one (leased rows, at most about WEBHOOK_MAX_IN_FLIGHT) can beat
    // that one's due_at, so an index range up to it is enough.
    this.selectNextDue = db.prepare(
      `SELECT MIN(MAX(due_at, lease_until)) AS next FROM due_work
       WHERE seq <= @head AND due_at <= COALESCE(
         (SELECT due_at FROM due_work WHERE lease_until <= due_at AND seq <= @head
          ORDER BY due_at, seq LIMIT 1),
         ${Number.MAX_SAFE_INTEGER})`,
    );
  }

  apply(recorded: RecordedEvent): void {
    const event = recorded as unknown as WebhookEventEvent;
    const id = event.data.webhookEventId;
    switch (event.type) {
      // A new event, or a redelivery: due now, in log order, with a fresh retry budget.
      case 'WebhookEventCreated':
      case 'WebhookEventRedeliveryRequested': {
        const dueAt =
          event.type === 'WebhookEventCreated' ? event.data.createdAt : event.data.requestedAt;
        this.upsert.run(id, event.data.endpointId, Date.parse(dueAt), recorded.position, 0);
        return;
      }
      case 'DeliveryAttempted':
        if (event.data.retryAt) this.reschedule.run(Date.parse(event.data.retryAt), id);
        else this.remove.run(id);
        return;
      case 'WebhookEventFailed':
      case 'WebhookEventSkipped':
      case 'WebhookEventArchived':
        this.remove.run(id);
        return;
    }
  }

  reset(): void {
    this.db.exec('DELETE FROM due_work');
  }

  /** Leases need no fsync of their own: the embedded engine voids them all at start-up. */
  async claim(now: number, limit: number, leaseMs: number): Promise<DueWork[]> {
    // Most calls find nothing due: those need no write.
    if (this.anyDue.get(now, now, this.durableHead()) === undefined) return [];
    return this.leaseDue
      .all({ now, until: now + leaseMs, head: this.durableHead(), limit })
      .sort((a, b) => a.due_at - b.due_at || a.seq - b.seq)
      .map((r) => ({
        webhookEventId: r.webhook_event_id,
        endpointId: r.endpoint_id,
        attemptsMade: r.attempts_made,
      }));
  }

  async nextDueAt(): Promise<number | null> {
    return this.selectNextDue.get({ head: this.durableHead() })?.next ?? null;
  }

  async pendingFor(endpointId: string): Promise<string[]> {
    return this.db
      .prepare<[string], { webhook_event_id: string }>(
        'SELECT webhook_event_id FROM due_work WHERE endpoint_id = ? ORDER BY seq',
      )
      .all(endpointId)
      .map((r) => r.webhook_event_id);
  }

  async releaseLeases(): Promise<void> {
    this.db.exec('UPDATE due_work SET lease_until = 0');
  }

  async depth(): Promise<number> {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM due_work').get()!.n;
  }
}
