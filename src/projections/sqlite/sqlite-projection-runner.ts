import { Logger } from '@nestjs/common';
import { matchesFilter } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../../eventstore/sqlite/sqlite-event-store';
import { ProjectionRunner } from '../projection-runner';
import { SqliteCheckpoints } from './sqlite-checkpoints';
import { SqliteProjection } from './sqlite-projection';
import { withoutFsync } from './unsynced-transaction';

const BATCH_SIZE = 1000;

interface Waiter {
  position: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Runs every embedded projection off the global log. Each batch is one IMMEDIATE transaction
 * that re-reads the stored checkpoint, applies the events and writes the new checkpoint, so
 * two processes sharing the file (service and CLI) never apply an event twice.
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
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.loop;
    this.loop = undefined;
    // Nothing will advance the checkpoints any more: fail the writers still waiting.
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('Projections stopped'));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.catchUpSync();
      } catch (error) {
        // A projection bug must not be retried in a hot loop nor kill the process silently.
        this.failure = error;
        this.logger.error(`Projection failed: ${String(error)}`);
        this.stopped = true;
        this.releaseWaiters();
        return;
      }
      await this.store.waitForAppend(this.applied, this.stopping.signal);
    }
  }

  async waitFor(position: number): Promise<void> {
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

  /** Applies batches until every projection has reached the head of the log. */
  private catchUpSync(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (this.applyBatch()) {
        // until every projection has reached the head
      }
      this.applied = Math.min(...this.projections.map((p) => this.checkpointStore.get(p.name)));
      this.releaseWaiters();
    } finally {
      this.running = false;
    }
  }

  /**
   * One transaction for all projections (one commit per batch rather than one per projection):
   * read each checkpoint, read up to BATCH_SIZE events after the oldest of them,
   * apply to each projection the events past its own checkpoint, store the new checkpoints.
   * The commit is not fsynced on its own (see withoutFsync): the events it projects are already
   * durable, and a batch lost to a power cut is re-applied from the checkpoint that survived.
   */
  private applyBatch(): boolean {
    return withoutFsync(this.db, () =>
      this.db
        .transaction(() => {
          const from = this.projections.map((p) => this.checkpointStore.get(p.name));
          const events = this.store.readAllSync({
            fromPosition: Math.min(...from),
            maxCount: BATCH_SIZE,
          });
          if (events.length === 0) return false;
          const last = events[events.length - 1].position;
          this.projections.forEach((projection, i) => {
            if (from[i] >= last) return;
            for (const event of events) {
              if (event.position > from[i] && matchesFilter(event, projection.filter)) {
                projection.apply(event);
              }
            }
            this.checkpointStore.set(projection.name, last);
          });
          return true;
        })
        .immediate(),
    );
  }

  private releaseWaiters(): void {
    const ready = this.waiters.filter((w) => this.failure || w.position <= this.applied);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const waiter of ready) waiter.resolve();
  }
}
