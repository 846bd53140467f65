import { HeldLease, ProjectionLeaseStore } from '../projection-lease';

/** One lease record, shared by the runners ("replicas") of a test. */
export class LeaseRecord {
  owner: string | null = null;
  token = 0;
  leaseUntil = 0;
  checkpoints: Record<string, number> = {};
}

/**
 * The ProjectionLeaseStore port's semantics in memory, to test the runner's own logic (batches,
 * checkpoints, standby, fencing). It is not MongoDB: MongoProjectionLeases' updates have their own
 * spec, and the contract suites run the real thing against a server.
 */
export class MemoryLeases implements ProjectionLeaseStore {
  constructor(
    private readonly record: LeaseRecord,
    private readonly replicaId: string,
    readonly leaseMs: number,
  ) {}

  async take(): Promise<HeldLease | null> {
    if (this.record.leaseUntil > Date.now()) return null;
    return this.takeWhoeverHolds(false);
  }

  async takeOverForRebuild(): Promise<HeldLease> {
    return this.takeWhoeverHolds(true);
  }

  async takeOver(): Promise<HeldLease> {
    return this.takeWhoeverHolds(false);
  }

  async renew(token: number): Promise<boolean> {
    if (!this.holds(token)) return false;
    this.record.leaseUntil = Date.now() + this.leaseMs;
    return true;
  }

  async save(token: number, checkpoints: Record<string, number>): Promise<boolean> {
    if (!this.holds(token)) return false;
    this.record.checkpoints = { ...this.record.checkpoints, ...checkpoints };
    return true;
  }

  async release(token: number): Promise<void> {
    if (!this.holds(token)) return;
    this.record.owner = null;
    this.record.leaseUntil = 0;
  }

  async checkpoints(): Promise<Record<string, number>> {
    return { ...this.record.checkpoints };
  }

  private holds(token: number): boolean {
    return this.record.owner === this.replicaId && this.record.token === token;
  }

  private takeWhoeverHolds(clear: boolean): HeldLease {
    this.record.owner = this.replicaId;
    this.record.token += 1;
    this.record.leaseUntil = Date.now() + this.leaseMs;
    if (clear) this.record.checkpoints = {};
    return { token: this.record.token, checkpoints: { ...this.record.checkpoints } };
  }
}
