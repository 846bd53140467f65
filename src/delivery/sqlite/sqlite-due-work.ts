import type { Statement } from 'better-sqlite3';
import { holderIsGone, newOwnerId } from '../../common/process-owner';
import { RecordedEvent } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { TableNames, ensureIndexes } from '../../projections/sqlite/schema';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import { DueWork, DueWorkQueue } from '../due-work';
import { WEBHOOK_EVENT_STREAM_PREFIX, WebhookEventEvent } from '../webhook-event';

/** The queue's table, named for the live read model or a replay's shadow copy of it. */
function createSchema(db: SqliteDatabase, names: TableNames): string {
  const table = names.of('due_work');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${table} (
      webhook_event_id TEXT PRIMARY KEY,
      endpoint_id TEXT NOT NULL,
      due_at INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      attempts_made INTEGER NOT NULL,
      -- Unused since leases are kept in memory (SqliteDueWork.leases); kept so that files written
      -- by earlier versions and new ones share one schema.
      lease_until INTEGER NOT NULL DEFAULT 0
    );
    -- Which connection hands work out: not projected, never replayed.
    CREATE TABLE IF NOT EXISTS due_work_dispatcher (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      owner TEXT NOT NULL,
      pid INTEGER NOT NULL,
      until INTEGER NOT NULL
    );
  `);
  // No index by endpoint (earlier versions had one): only disabling or deleting an endpoint looks
  // its pending work up (a scan of the queue), while every commit that schedules or settles work
  // would write one.
  ensureIndexes(db, names, table, { due_work_by_due: '(due_at, seq)' });
  return table;
}

/** How long the dispatching connection's claim on the queue lasts without being renewed. */
const OWNERSHIP_MS = 15_000;
/** It is renewed (one small write) by the first claim once less than this is left. */
const OWNERSHIP_RENEW_MS = 10_000;
/** A connection that is not dispatching looks again this often whether it may take over. */
const OWNERSHIP_POLL_MS = 1_000;

/** A due_work row as a batch leaves it. */
interface QueuedRow {
  endpointId: string;
  dueAt: number;
  seq: number;
  attemptsMade: number;
}

/** webhook_event_id, endpoint_id, attempts_made, due_at (raw rows: no object per row). */
type DueRow = [string, string, number, number];

interface OwnerRow {
  owner: string;
  pid: number;
  until: number;
}

/**
 * The due-work queue in the embedded database: a projection of the log, with leases in memory,
 * so that a claim is a read and never a commit of its own.
 *
 * One connection at a time hands work out (the dispatching process: a second service started on
 * the same data directory waits). It holds that role through a row renewed every few seconds;
 * another connection takes over once the row has expired or at once when the process that
 * holds it is gone, so a restart after a crash resumes deliveries immediately.
 */
export class SqliteDueWork implements SqliteProjection, DueWorkQueue {
  readonly name = 'due_work';
  readonly filter = { streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX] };
  private readonly upsert: Statement<[string, string, number, number, number]>;
  private readonly reschedule: Statement<[number, string]>;
  private readonly remove: Statement<[string]>;
  private readonly selectQueued: Statement<[number], DueRow>;
  /**
   * What nextDueAt would answer, found by the last claim's read; dropped once read or once the
   * queue changes. The dispatcher asks right after a claim that left it idle: no second read.
   */
  private nextAfterClaim: number | null | undefined;
  /** webhook_event_id → end of its lease. Only this connection's claims are in it. */
  private readonly leases = new Map<string, number>();
  private readonly selectOwner: Statement<[], OwnerRow>;
  private readonly takeOwnership: Statement<
    [{ owner: string; pid: number; until: number; now: number; gonePid: number }]
  >;
  /** `host/uuid`: a pid is only meaningful on the host (PID namespace) that wrote it. */
  private readonly id = newOwnerId();
  /** Until when this connection may hand work out (0: it may not, or has not asked yet). */
  private ownedUntil = 0;

  /**
   * `durableHead`: the log position known to be on disk. Read models are applied inside the
   * append's transaction, before its sync: work from a later position is not handed out yet.
   */
  readonly tables: readonly string[];
  /** Written by versions that kept leases in the table; never reset on the rows they left. */
  readonly unprojectedColumns = ['lease_until'];
  private readonly table: string;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly durableHead: () => number = () => Number.MAX_SAFE_INTEGER,
    names = new TableNames(),
  ) {
    const table = createSchema(db, names);
    this.table = table;
    this.tables = [table];
    this.upsert = db.prepare(
      `INSERT INTO ${table} (webhook_event_id, endpoint_id, due_at, seq, attempts_made) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (webhook_event_id) DO UPDATE SET due_at = excluded.due_at, seq = excluded.seq,
         attempts_made = excluded.attempts_made`,
    );
    this.reschedule = db.prepare(
      `UPDATE ${table} SET due_at = ?, attempts_made = attempts_made + 1 WHERE webhook_event_id = ?`,
    );
    this.remove = db.prepare(`DELETE FROM ${table} WHERE webhook_event_id = ?`);
    // Read with iterate() and left early, not with a LIMIT: SQLite 3.53 prepares a statement
    // again each time it runs with a bound LIMIT, which cost more than the query. Leased rows
    // come first in due order (they were due when claimed): stepping past them, at most about
    // WEBHOOK_MAX_IN_FLIGHT rows, is cheaper than a write per claim.
    this.selectQueued = db
      .prepare<[number], DueRow>(
        `SELECT webhook_event_id, endpoint_id, attempts_made, due_at FROM ${table}
         WHERE seq <= ? ORDER BY due_at, seq`,
      )
      .raw();
    this.selectOwner = db.prepare('SELECT owner, pid, until FROM due_work_dispatcher WHERE id = 1');
    // One statement under the write lock: two connections can never both win.
    this.takeOwnership = db.prepare(
      `INSERT INTO due_work_dispatcher (id, owner, pid, until) VALUES (1, @owner, @pid, @until)
       ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, until = excluded.until
       WHERE owner = @owner OR until <= @now OR pid = @gonePid`,
    );
  }

  apply(recorded: RecordedEvent): void {
    this.applyBatch([recorded]);
  }

  /**
   * Same result as applying each event in turn, with one write per item the batch touches: an
   * item (re)queued in the batch is followed in memory and written, or deleted, at the end.
   */
  applyBatch(batch: readonly RecordedEvent[]): void {
    this.nextAfterClaim = undefined;
    /** Items queued by this batch: their row as it will be, or null once settled. */
    const queued = new Map<string, QueuedRow | null>();
    const settle = (id: string) => {
      if (queued.has(id)) queued.set(id, null);
      else this.remove.run(id);
    };
    for (const recorded of batch) {
      const event = recorded as unknown as WebhookEventEvent;
      const id = event.data.webhookEventId;
      this.leases.delete(id);
      switch (event.type) {
        // A new event, or a redelivery: due now, in log order, with a fresh retry budget.
        case 'WebhookEventCreated':
        case 'WebhookEventRedeliveryRequested': {
          const dueAt =
            event.type === 'WebhookEventCreated' ? event.data.createdAt : event.data.requestedAt;
          queued.set(id, {
            endpointId: event.data.endpointId,
            dueAt: Date.parse(dueAt),
            seq: recorded.position,
            attemptsMade: 0,
          });
          break;
        }
        case 'DeliveryAttempted': {
          const retryAt = event.data.retryAt;
          const row = queued.get(id);
          if (!retryAt) settle(id);
          else if (row === undefined) this.reschedule.run(Date.parse(retryAt), id);
          else if (row !== null) {
            row.dueAt = Date.parse(retryAt);
            row.attemptsMade++;
          }
          break;
        }
        case 'WebhookEventFailed':
        case 'WebhookEventSkipped':
        case 'WebhookEventArchived':
          settle(id);
          break;
      }
    }
    for (const [id, row] of queued) {
      if (row === null) this.remove.run(id);
      else this.upsert.run(id, row.endpointId, row.dueAt, row.seq, row.attemptsMade);
    }
  }

  reset(): void {
    this.db.exec(`DELETE FROM ${this.table}`);
    this.leases.clear();
    this.nextAfterClaim = undefined;
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<DueWork[]> {
    this.nextAfterClaim = undefined;
    if (!this.dispatching(now) || limit <= 0) return [];
    const { claimed, next } = this.scan(now, limit);
    // Leased once the read is over: the iterator is not used while the map changes.
    for (const work of claimed) this.leases.set(work.webhookEventId, now + leaseMs);
    this.nextAfterClaim =
      claimed.length > 0 && (next === null || next > now + leaseMs) ? now + leaseMs : next;
    return claimed;
  }

  /** The earliest due time of an unleased item, or lease end of a leased one. */
  async nextDueAt(): Promise<number | null> {
    const cached = this.nextAfterClaim;
    this.nextAfterClaim = undefined;
    const next = cached !== undefined ? cached : this.scan(Date.now(), 0).next;
    if (next === null || this.dispatching(Date.now())) return next;
    // Another connection dispatches: look again later whether it still does.
    return Math.max(next, Date.now() + OWNERSHIP_POLL_MS);
  }

  /**
   * One read of the queue in due order: takes up to `limit` unleased items due by `now`, and
   * finds the earliest time after them at which an item falls due or a lease ends.
   */
  private scan(now: number, limit: number): { claimed: DueWork[]; next: number | null } {
    const claimed: DueWork[] = [];
    let next: number | null = null;
    for (const [id, endpointId, attemptsMade, dueAt] of this.selectQueued.iterate(
      this.durableHead(),
    )) {
      const leaseEnd = this.leases.get(id) ?? 0;
      if (dueAt <= now && leaseEnd <= now && claimed.length < limit) {
        claimed.push({ webhookEventId: id, endpointId, attemptsMade });
        continue;
      }
      const at = Math.max(dueAt, leaseEnd);
      next = next === null ? at : Math.min(next, at);
      // Rows come in due order: past an unleased one, every row is due later still.
      if (leaseEnd <= dueAt) break;
    }
    return { claimed, next };
  }

  /**
   * Whether this connection hands work out: it does while it holds the dispatcher row, renewing
   * it before it runs out; it takes the row over once that has expired or its process is gone.
   */
  private dispatching(now: number): boolean {
    if (this.ownedUntil - now > OWNERSHIP_RENEW_MS) return true;
    const holder = this.selectOwner.get();
    const gonePid =
      holder && holder.owner !== this.id && holderIsGone(holder.owner, holder.pid)
        ? holder.pid
        : -1;
    const until = now + OWNERSHIP_MS;
    const won =
      this.takeOwnership.run({ owner: this.id, pid: process.pid, until, now, gonePid }).changes ===
      1;
    this.ownedUntil = won ? until : 0;
    return won;
  }

  async pendingFor(endpointId: string): Promise<string[]> {
    return this.db
      .prepare<[string], { webhook_event_id: string }>(
        `SELECT webhook_event_id FROM ${this.table} WHERE endpoint_id = ? ORDER BY seq`,
      )
      .all(endpointId)
      .map((r) => r.webhook_event_id);
  }

  /** Gives up dispatching, so that the next service on this file starts at once. */
  close(): void {
    if (this.ownedUntil === 0) return;
    this.ownedUntil = 0;
    this.db
      .prepare('UPDATE due_work_dispatcher SET until = 0 WHERE id = 1 AND owner = ?')
      .run(this.id);
  }

  /** Ends this connection's leases (those of a crashed process died with it). */
  async releaseLeases(): Promise<void> {
    this.leases.clear();
  }

  async depth(): Promise<number> {
    return this.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${this.table}`).get()!.n;
  }
}
