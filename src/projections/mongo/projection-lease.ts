import type { Collection, Db, Document, Filter, UpdateFilter } from 'mongodb';

/** The lease as its holder knows it: the fencing token it took it with, and the checkpoints. */
export interface HeldLease {
  token: number;
  checkpoints: Record<string, number>;
}

/**
 * The lease of one projection runner and its checkpoints, shared by every replica. Only the
 * holder applies events and saves checkpoints; each save and renewal names the holder's fencing
 * token, so once another replica has taken over they match nothing and report `false`.
 */
export interface ProjectionLeaseStore {
  /** How long a lease lasts without renewal: the longest a dead holder delays a standby. */
  readonly leaseMs: number;
  /** Takes the lease if it has ended; null when someone holds it. */
  take(): Promise<HeldLease | null>;
  /** Takes the lease whoever holds it (fencing them out) with the checkpoints cleared. */
  takeOverForRebuild(): Promise<HeldLease>;
  /** Takes the lease whoever holds it (fencing them out), checkpoints kept (a replay's switch). */
  takeOver(): Promise<HeldLease>;
  renew(token: number): Promise<boolean>;
  save(token: number, checkpoints: Record<string, number>): Promise<boolean>;
  /** Ends the lease now, if still held with `token`, so nobody has to wait it out. */
  release(token: number): Promise<void>;
  checkpoints(): Promise<Record<string, number>>;
}

export interface ProjectionLeaseDoc {
  _id: string;
  owner: string | null;
  /** Incremented by every take-over: the fencing token. */
  token: number;
  /** When the lease ends, by the server's clock (taken and renewed with `$$NOW`). */
  leaseUntil: Date;
  /** Per projection, the log position up to which it is applied. */
  checkpoints: Record<string, number>;
}

export const PROJECTION_LEASES_COLLECTION = 'projection_leases';

/** The lease document, created once; creating it again changes nothing. */
export function leaseCreation(): UpdateFilter<ProjectionLeaseDoc> {
  return { $setOnInsert: { owner: null, token: 0, leaseUntil: new Date(0), checkpoints: {} } };
}

/** Matches the lease only once it has ended, by the server's clock: replicas' clocks may differ. */
export function endedLease(name: string): Filter<ProjectionLeaseDoc> {
  return { _id: name, $expr: { $lte: ['$leaseUntil', '$$NOW'] } };
}

/** Takes the lease: new owner, next fencing token; `rebuild` also clears the checkpoints. */
export function takeLease(replicaId: string, leaseMs: number, rebuild: boolean): Document[] {
  return [
    {
      $set: {
        owner: { $literal: replicaId },
        token: { $add: [{ $ifNull: ['$token', 0] }, 1] },
        leaseUntil: { $add: ['$$NOW', leaseMs] },
        checkpoints: rebuild ? { $literal: {} } : { $ifNull: ['$checkpoints', { $literal: {} }] },
      },
    },
  ];
}

/** Matches the lease only while this replica still holds it with this token. */
export function heldLease(
  name: string,
  replicaId: string,
  token: number,
): Filter<ProjectionLeaseDoc> {
  return { _id: name, owner: replicaId, token };
}

export function renewLease(leaseMs: number): Document[] {
  return [{ $set: { leaseUntil: { $add: ['$$NOW', leaseMs] } } }];
}

export function saveCheckpoints(
  checkpoints: Record<string, number>,
): UpdateFilter<ProjectionLeaseDoc> {
  return {
    $set: Object.fromEntries(
      Object.entries(checkpoints).map(([name, position]) => [`checkpoints.${name}`, position]),
    ),
  };
}

export const RELEASE_PROJECTION_LEASE: UpdateFilter<ProjectionLeaseDoc> = {
  $set: { owner: null, leaseUntil: new Date(0) },
};

function held(doc: ProjectionLeaseDoc): HeldLease {
  return { token: doc.token, checkpoints: { ...doc.checkpoints } };
}

/** The lease as one document in MongoDB, every change a single conditional update. */
export class MongoProjectionLeases implements ProjectionLeaseStore {
  private readonly collection: Collection<ProjectionLeaseDoc>;
  private created = false;

  constructor(
    db: Db,
    private readonly replicaId: string,
    private readonly name = 'read_models',
    readonly leaseMs = 10_000,
  ) {
    this.collection = db.collection<ProjectionLeaseDoc>(PROJECTION_LEASES_COLLECTION);
  }

  async take(): Promise<HeldLease | null> {
    await this.ensureCreated();
    const taken = await this.collection.findOneAndUpdate(
      endedLease(this.name),
      takeLease(this.replicaId, this.leaseMs, false),
      { returnDocument: 'after' },
    );
    return taken && held(taken);
  }

  takeOverForRebuild(): Promise<HeldLease> {
    return this.takeWhoeverHolds(true);
  }

  takeOver(): Promise<HeldLease> {
    return this.takeWhoeverHolds(false);
  }

  private async takeWhoeverHolds(rebuild: boolean): Promise<HeldLease> {
    await this.ensureCreated();
    const taken = await this.collection.findOneAndUpdate(
      { _id: this.name },
      takeLease(this.replicaId, this.leaseMs, rebuild),
      { returnDocument: 'after' },
    );
    if (!taken) throw new Error(`The projection lease ${this.name} is missing`);
    return held(taken);
  }

  async renew(token: number): Promise<boolean> {
    const renewed = await this.collection.updateOne(
      heldLease(this.name, this.replicaId, token),
      renewLease(this.leaseMs),
    );
    return renewed.matchedCount === 1;
  }

  async save(token: number, checkpoints: Record<string, number>): Promise<boolean> {
    const saved = await this.collection.updateOne(
      heldLease(this.name, this.replicaId, token),
      saveCheckpoints(checkpoints),
    );
    return saved.matchedCount === 1;
  }

  async release(token: number): Promise<void> {
    await this.collection.updateOne(
      heldLease(this.name, this.replicaId, token),
      RELEASE_PROJECTION_LEASE,
    );
  }

  async checkpoints(): Promise<Record<string, number>> {
    const doc = await this.collection.findOne(
      { _id: this.name },
      { projection: { checkpoints: 1 } },
    );
    return doc?.checkpoints ?? {};
  }

  private async ensureCreated(): Promise<void> {
    if (this.created) return;
    await this.collection.updateOne({ _id: this.name }, leaseCreation(), { upsert: true });
    this.created = true;
  }
}
