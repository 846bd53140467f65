import { Logger } from '@nestjs/common';
import {
  EventFilter,
  EventStore,
  combinedFilter,
  matchesFilter,
} from '../../eventstore/event-store';
import { ProjectionRunner } from '../projection-runner';
import { BatchProjection } from './mongo-projection';
import { HeldLease, ProjectionLeaseStore } from './projection-lease';

export interface MongoProjectionRunnerOptions {
  /** How often a standby's `waitFor` reads the stored checkpoints. */
  pollMs?: number;
  /** Most events read and applied at once. */
  batchSize?: number;
}

interface Waiter {
  position: number;
  resolve(): void;
  reject(error: Error): void;
}

type BatchResult = 'more' | 'caught-up' | 'fenced';

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Runs the MongoDB projections off any EventStore on every replica, one replica applying at a
 * time (see ProjectionLeaseStore).
 *
 * - The holder of the lease reads the log in batches from the lowest checkpoint, applies each
 *   batch to every projection (concurrently; each one in log order), then saves the checkpoints
 *   with a write only the holder's fencing token can make. A save or a renewal that matches
 *   nothing means another replica took over: it stops applying and goes back to standby, and so
 *   does a holder that could not renew its lease for a whole lease.
 * - A standby takes the lease once it has ended, so a crashed holder is replaced within about a
 *   lease. Its `waitFor(position)` resolves by polling the stored checkpoints.
 * - Every projection write is guarded by the document's position, so the batch a fenced replica
 *   was finishing, or one re-applied after a crash before its checkpoint was saved, is harmless.
 */
export class MongoProjectionRunner implements ProjectionRunner {
  private readonly logger = new Logger('Projections');
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly readFilter: EventFilter | undefined;

  private lease: HeldLease | undefined;
  /**
   * Until when the held lease is surely ours: a lease after the request that took it or last
   * renewed it was sent (the server started the lease later than that, never earlier).
   */
  private leaseValidUntil = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private leaseLost = new AbortController();

  private started = false;
  private stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** Every projection is applied at least this far (applied here, or read from the store). */
  private observed = 0;
  private waiters: Waiter[] = [];
  private polling = false;

  constructor(
    private readonly store: EventStore,
    private readonly projections: readonly BatchProjection[],
    private readonly leases: ProjectionLeaseStore,
    options: MongoProjectionRunnerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 50;
    this.batchSize = options.batchSize ?? 500;
    this.readFilter = combinedFilter(projections.map((p) => p.filter));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    await this.stopLoop();
    await this.releaseLease();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('Projections stopped'));
  }

  async waitFor(position: number): Promise<void> {
    if (this.observed >= position) return;
    await new Promise<void>((resolve, reject) => {
      this.waiters.push({ position, resolve, reject });
      this.pollWhileWaiting();
    });
  }

  /**
   * Started: waits for whichever replica applies. Not started (the CLI): applies the log itself
   * when it can take the lease, else waits for the holder, taking over if that one has died.
   */
  async catchUp(): Promise<void> {
    const head = await this.store.headPosition();
    if (this.started) return this.waitFor(head);
    for (;;) {
      if (await this.tryTakeLease()) {
        try {
          return await this.applyUntil(head);
        } finally {
          await this.releaseLease();
        }
      }
      await this.readStoredCheckpoints();
      if (this.observed >= head) return;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /**
   * Takes the lease whoever holds it (fencing the holder out), clears the read models, and
   * re-applies the whole log. The fenced holder's last writes are guarded by position: they
   * cannot leave anything that the re-application does not correct.
   */
  async rebuild(): Promise<void> {
    const wasStarted = this.started;
    await this.stopLoop();
    const requested = Date.now();
    this.hold(await this.leases.takeOverForRebuild(), requested);
    this.observed = 0;
    for (const projection of this.projections) await projection.reset();
    try {
      await this.applyUntil(await this.store.headPosition());
    } finally {
      if (wasStarted) this.start();
      else await this.releaseLease();
    }
  }

  async checkpoints(): Promise<Record<string, number>> {
    const stored = await this.leases.checkpoints();
    return Object.fromEntries(this.projections.map((p) => [p.name, stored[p.name] ?? 0]));
  }

  private async stopLoop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopping.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.started) {
      try {
        if (!this.lease && !(await this.tryTakeLease())) {
          await this.pause(this.leases.leaseMs / 4);
          continue;
        }
        const result = await this.applyNextBatch();
        failures = 0;
        if (result === 'fenced') this.dropLease('the lease was taken over or could not be renewed');
        if (result !== 'caught-up') continue;
        // Wakes up now and then without appends too, to notice a lease it could not renew. Both
        // waits are aborted once either ends, so neither leaves a listener or a timer behind.
        const woken = new AbortController();
        const signal = AbortSignal.any([this.stopping.signal, this.leaseLost.signal, woken.signal]);
        await Promise.race([
          this.store.waitForAppend(this.observed, signal),
          this.pause(this.leases.leaseMs / 4, signal),
        ]);
        woken.abort();
      } catch (error) {
        failures += 1;
        this.logger.error(`Projection batch failed, retrying: ${String(error)}`);
        // Writers waiting get the error rather than hang while the store is unreachable.
        this.rejectWaiters(error instanceof Error ? error : new Error(String(error)));
        await this.pause(Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /** Applies batches while holding the lease until every projection reaches `head`. */
  private async applyUntil(head: number): Promise<void> {
    while (this.observed < head) {
      if ((await this.applyNextBatch()) === 'fenced') {
        throw new Error('Another replica took the projections over');
      }
    }
  }

  /**
   * One batch: the events after the lowest checkpoint, applied to each projection past its own
   * checkpoint, then the checkpoints saved by a write that only the current holder can make.
   */
  private async applyNextBatch(): Promise<BatchResult> {
    const lease = this.lease;
    if (!lease || Date.now() > this.leaseValidUntil) return 'fenced';
    const checkpointOf = (p: BatchProjection) => lease.checkpoints[p.name] ?? 0;
    const from = Math.min(...this.projections.map(checkpointOf));
    const head = await this.store.headPosition();
    if (from >= head) {
      this.advance(from);
      return 'caught-up';
    }
    const read = await this.store.readAll({
      fromPosition: from,
      maxCount: this.batchSize,
      filter: this.readFilter,
    });
    // Only up to the head read first: what the store calls safe to act on (the embedded store
    // lists commits before their fsync). A short page, or one reaching past the head, covered the
    // log up to the head: every event up to it that the page does not hold matches no projection.
    const reachedHead = read.length < this.batchSize || read[read.length - 1].position >= head;
    const events = read.filter((e) => e.position <= head);
    const last = reachedHead ? head : events[events.length - 1].position;
    const results = await Promise.allSettled(
      this.projections.map((projection) => {
        const mine = events.filter(
          (e) => e.position > checkpointOf(projection) && matchesFilter(e, projection.filter),
        );
        return mine.length > 0 ? projection.applyBatch(mine) : Promise.resolve();
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const next = Object.fromEntries(
      this.projections.map((p) => [p.name, Math.max(checkpointOf(p), last)]),
    );
    if (!(await this.leases.save(lease.token, next))) return 'fenced';
    lease.checkpoints = next;
    this.advance(Math.min(...Object.values(next)));
    return reachedHead ? 'caught-up' : 'more';
  }

  private async tryTakeLease(): Promise<boolean> {
    const requested = Date.now();
    const taken = await this.leases.take();
    if (!taken) return false;
    this.hold(taken, requested);
    this.logger.log(`Applying the projections (fencing token ${taken.token})`);
    return true;
  }

  /** `requested`: when the request that took the lease was sent. */
  private hold(lease: HeldLease, requested: number): void {
    this.lease = lease;
    this.leaseValidUntil = requested + this.leases.leaseMs;
    this.leaseLost = new AbortController();
    clearInterval(this.renewTimer);
    this.renewTimer = setInterval(() => void this.renew(), this.leases.leaseMs / 4);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    const requested = Date.now();
    try {
      const renewed = await this.leases.renew(lease.token);
      if (this.lease !== lease) return;
      if (renewed) this.leaseValidUntil = requested + this.leases.leaseMs;
      else this.dropLease('another replica took the lease over');
    } catch (error) {
      this.logger.warn(`Could not renew the projections lease: ${String(error)}`);
    }
  }

  /** Stops applying (the loop goes back to standby); the lease is no longer ours to release. */
  private dropLease(reason: string): void {
    if (!this.lease) return;
    this.logger.warn(`Projections on standby: ${reason}`);
    this.forgetLease();
  }

  /** Ends the held lease at once, so another replica (or the next start) need not wait it out. */
  private async releaseLease(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    this.forgetLease();
    await this.leases
      .release(lease.token)
      .catch((error: unknown) =>
        this.logger.warn(`Could not release the projections lease: ${String(error)}`),
      );
  }

  private forgetLease(): void {
    this.lease = undefined;
    clearInterval(this.renewTimer);
    this.leaseLost.abort();
  }

  private async readStoredCheckpoints(): Promise<void> {
    const stored = await this.leases.checkpoints();
    this.advance(Math.min(...this.projections.map((p) => stored[p.name] ?? 0)));
  }

  /** While someone waits and this replica is not the one applying, reads the stored checkpoints. */
  private pollWhileWaiting(): void {
    if (this.polling) return;
    this.polling = true;
    void (async () => {
      try {
        while (this.waiters.length > 0) {
          if (!this.lease) {
            await this.readStoredCheckpoints().catch((error: unknown) =>
              this.logger.warn(`Could not read the projection checkpoints: ${String(error)}`),
            );
          }
          if (this.waiters.length > 0) await new Promise((r) => setTimeout(r, this.pollMs));
        }
      } finally {
        this.polling = false;
      }
    })();
  }

  private advance(position: number): void {
    this.observed = Math.max(this.observed, position);
    const ready = this.waiters.filter((w) => w.position <= this.observed);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.position > this.observed);
    for (const waiter of ready) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Sleeps, cut short by stop(), or by `signal` when given (it must follow stop() too). */
  private pause(ms: number, signal: AbortSignal = this.stopping.signal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
