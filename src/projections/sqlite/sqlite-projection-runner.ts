import { Logger } from '@nestjs/common';
import { RecordedEvent, matchesFilter } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { ProjectionRunner } from '../projection-runner';
import { SqliteCheckpoints } from './sqlite-checkpoints';
import { SqliteProjection, applyTo } from './sqlite-projection';

const BATCH_SIZE = 1000;

interface Waiter {
  position: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Runs every embedded projection off the global log. While started, it applies each append
 * inline: inside the append's own transaction (the store's commit hook), from the events in
 * memory, with the checkpoints, so read models commit atomically with the events and need no
 * second transaction nor a read back. Whatever the log holds past the checkpoints (appends made
 * while stopped, or by a process without a runner) is caught up in batches, each one IMMEDIATE
 * transaction that re-reads the stored checkpoints, applies the events and writes the new
 * checkpoints, so two processes sharing the file (service and CLI) never apply an event twice.
 */
export class SqliteProjectionRunner implements ProjectionRunner {
  private readonly logger = new Logger('Projections');
  private readonly checkpointStore: SqliteCheckpoints;
  private waiters: Waiter[] = [];
  private applied = 0;
  private running = false;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private failure: unknown;
  private stopping = new AbortController();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly store: SqliteEventStore,
    private readonly projections: readonly SqliteProjection[],
  ) {
    this.checkpointStore = new SqliteCheckpoints(db);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = new AbortController();
    this.store.setCommitHook({
      apply: (events, headBefore) => this.applyCommitted(events, headBefore),
      // Every checkpoint is at the batch's last event: a waitFor up to there needs no read.
      committed: (head) => {
        this.applied = Math.max(this.applied, head);
        this.releaseWaiters();
      },
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.store.setCommitHook(undefined);
    this.stopping.abort();
    await this.loop;
    this.loop = undefined;
    // Nothing will advance the checkpoints any more: fail the writers still waiting.
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('Projections stopped'));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.tryCatchUp()) return;
      await this.store.waitForAppend(this.applied, this.stopping.signal);
    }
  }

  /** Catches up; on a projection bug, stops for good (no hot retry loop) and says so. */
  private tryCatchUp(): boolean {
    try {
      this.catchUpSync();
      return true;
    } catch (error) {
      this.failure = error;
      this.logger.error(`Projection failed: ${String(error)}`);
      this.stopped = true;
      this.store.setCommitHook(undefined);
      this.releaseWaiters();
      return false;
    }
  }

  async waitFor(position: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.applied >= position) return;
    // Usually applied inline already: reading the checkpoints is enough.
    if (!this.stopped) this.tryCatchUp();
    if (this.failure) throw this.failure;
    if (this.applied >= position) return;
    await new Promise<void>((resolve, reject) => this.waiters.push({ position, resolve, reject }));
    if (this.failure) throw this.failure;
  }

  async catchUp(): Promise<void> {
    this.catchUpSync();
  }

  async rebuild(): Promise<void> {
    this.db
      .transaction(() => {
        for (const projection of this.projections) {
          projection.reset();
          this.checkpointStore.set(projection.name, 0);
        }
      })
      .immediate();
    this.applied = 0;
    this.catchUpSync();
  }

  async checkpoints(): Promise<Record<string, number>> {
    return Object.fromEntries(
      this.projections.map((p) => [p.name, this.checkpointStore.get(p.name)]),
    );
  }

  /** Applies batches until every projection has reached the durable head of the log. */
  private catchUpSync(): void {
    if (this.running) return;
    // This process's appends were applied inline (see applyCommitted): only the log's head, one
    // read, says whether another process appended something.
    if (this.applied >= this.store.durableHead()) {
      this.releaseWaiters();
      return;
    }
    this.running = true;
    try {
      // Inline application keeps the checkpoints at the head: then no transaction is needed.
      while (this.lowestCheckpoint() < this.store.durableHead() && this.applyBatch()) {
        // until every projection has reached the head
      }
      this.applied = this.lowestCheckpoint();
      this.releaseWaiters();
    } finally {
      this.running = false;
    }
  }

  private lowestCheckpoint(): number {
    return Math.min(...this.projections.map((p) => this.checkpointStore.get(p.name)));
  }

  /**
   * The commit hook: inside the append's transaction. When every checkpoint is at the head the
   * batch started from, the batch's events are applied from memory; otherwise the log is caught
   * up first, from the stored checkpoints, this batch included.
   */
  private applyCommitted(events: readonly RecordedEvent[], headBefore: number): void {
    const from = this.projections.map((p) => this.checkpointStore.get(p.name));
    if (from.some((f) => f !== headBefore)) {
      while (this.applyFromLog(Number.MAX_SAFE_INTEGER)) {
        // until this batch is applied too
      }
      return;
    }
    this.applyEvents(events, from);
  }

  /**
   * One transaction for all projections (one commit per batch rather than one per projection)
   * of up to BATCH_SIZE durable events; returns whether more may remain. The commit is not
   * fsynced on its own: the events it projects are already durable, and a batch lost to a power
   * cut is re-applied from the checkpoint that survived.
   */
  private applyBatch(): boolean {
    const head = this.store.durableHead();
    return this.db.transaction(() => this.applyFromLog(head)).immediate();
  }

  /** Reads the events after the oldest checkpoint, up to `head`, and applies them. */
  private applyFromLog(head: number): boolean {
    const from = this.projections.map((p) => this.checkpointStore.get(p.name));
    const oldest = Math.min(...from);
    if (oldest >= head) return false;
    const events = this.store
      .readAllSync({ fromPosition: oldest, maxCount: BATCH_SIZE })
      .filter((e) => e.position <= head);
    if (events.length === 0) return false;
    this.applyEvents(events, from);
    return events.length === BATCH_SIZE && events[events.length - 1].position < head;
  }

  /** Applies to each projection the events past its checkpoint `from[i]`, then moves it. */
  private applyEvents(events: readonly RecordedEvent[], from: readonly number[]): void {
    const last = events[events.length - 1].position;
    this.projections.forEach((projection, i) => {
      if (from[i] >= last) return;
      applyTo(
        projection,
        events.filter((e) => e.position > from[i] && matchesFilter(e, projection.filter)),
      );
      this.checkpointStore.set(projection.name, last);
    });
  }

  private releaseWaiters(): void {
    const ready = this.waiters.filter((w) => this.failure || w.position <= this.applied);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.resolve();
  }
}
