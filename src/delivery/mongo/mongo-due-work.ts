import type { AnyBulkWriteOperation, Collection, Db, Filter, UpdateFilter } from 'mongodb';
import { RecordedEvent } from '../../eventstore/event-store';
import {
  Versioned,
  guardedMerge,
  guardedReplace,
  writeInOrder,
} from '../../projections/mongo/guarded-writes';
import { MongoProjection } from '../../projections/mongo/mongo-projection';
import {
  IndexSpec,
  QuerySpec,
  SortedQuerySpec,
  ensureIndexes,
} from '../../projections/mongo/query-spec';
import { DueWork, DueWorkQueue } from '../due-work';
import { WEBHOOK_EVENT_STREAM_PREFIX, WebhookEventEvent } from '../webhook-event';

/**
 * The next attempt of one WebhookEvent. A finished one is kept as a tombstone (`pending: false`)
 * rather than deleted, so that re-applying its older events cannot bring it back; tombstones are
 * removed by a TTL index once no re-delivery can reach them.
 */
export interface DueWorkDoc extends Versioned {
  endpointId: string;
  pending: boolean;
  /** Epoch ms when the attempt is due. */
  dueAt: number;
  /** Log position of the event that scheduled it: publish order for equal due times. */
  seq: number;
  attemptsMade: number;
  /** The replica holding the lease, null when none. */
  leaseOwner: string | null;
  /** Epoch ms when the lease ends; 0 when never leased. */
  leaseUntil: number;
  /** When it became a tombstone (the TTL index's clock). */
  removedAt: Date | null;
}

export const DUE_WORK_COLLECTION = 'due_work';
/** Re-application only reaches events after a checkpoint: a week is far beyond any lag. */
export const TOMBSTONE_TTL_SECONDS = 7 * 24 * 60 * 60;

export const DUE_ORDER = { dueAt: 1, seq: 1 } as const;

export const DUE_WORK_INDEXES: readonly IndexSpec[] = [
  // claim and nextDueAt: pending items in due order, lease end checked in the index.
  { name: 'pending_in_due_order', key: { pending: 1, ...DUE_ORDER, leaseUntil: 1 } },
  // Live leases: the endpoints other replicas hold, and the earliest lease end. Covering.
  {
    name: 'pending_by_lease_end',
    key: { pending: 1, leaseUntil: 1, leaseOwner: 1, attemptsMade: 1, endpointId: 1 },
  },
  // releaseLeases: this replica's leases.
  { name: 'pending_by_lease_owner', key: { pending: 1, leaseOwner: 1, leaseUntil: 1 } },
  // pendingFor: an endpoint's pending events in publish order.
  { name: 'pending_by_endpoint', key: { pending: 1, endpointId: 1, seq: 1 } },
  { name: 'tombstones_ttl', key: { removedAt: 1 }, expireAfterSeconds: TOMBSTONE_TTL_SECONDS },
];

/**
 * Every query the queue sends. `blockedEndpoints` are the endpoints whose first attempts another
 * replica holds; their first attempts are excluded with a post-filter on the due-order index scan
 * (a handful of ids: at most the items leased right now).
 */
export const dueWorkQueries = {
  claimable(now: number, blockedEndpoints: readonly string[]): SortedQuerySpec<DueWorkDoc> {
    return {
      filter: {
        pending: true,
        dueAt: { $lte: now },
        leaseUntil: { $lte: now },
        ...notBlocked(blockedEndpoints),
      },
      sort: DUE_ORDER,
    };
  },
  /** The first unleased item in due order, due or not: when the next claim can succeed. */
  nextUnleased(now: number, blockedEndpoints: readonly string[]): SortedQuerySpec<DueWorkDoc> {
    return {
      filter: { pending: true, leaseUntil: { $lte: now }, ...notBlocked(blockedEndpoints) },
      sort: DUE_ORDER,
    };
  },
  liveLeases: (now: number): SortedQuerySpec<DueWorkDoc> => ({
    filter: { pending: true, leaseUntil: { $gt: now } },
    sort: { leaseUntil: 1 },
  }),
  leasedByOthers: (now: number, replicaId: string): QuerySpec<DueWorkDoc> => ({
    filter: { pending: true, leaseUntil: { $gt: now }, leaseOwner: { $ne: replicaId } },
  }),
  ownLeases: (replicaId: string): QuerySpec<DueWorkDoc> => ({
    filter: { pending: true, leaseOwner: replicaId },
  }),
  pendingFor: (endpointId: string): SortedQuerySpec<DueWorkDoc> => ({
    filter: { pending: true, endpointId },
    sort: { seq: 1 },
  }),
  pending: (): QuerySpec<DueWorkDoc> => ({ filter: { pending: true } }),
  /** The lease itself: still pending, due, and not leased by anyone (an expired lease is not). */
  leaseable: (id: string, now: number): QuerySpec<DueWorkDoc> => ({
    filter: { _id: id, pending: true, dueAt: { $lte: now }, leaseUntil: { $lte: now } },
  }),
};

function notBlocked(endpoints: readonly string[]): Filter<DueWorkDoc> {
  return endpoints.length > 0
    ? { $nor: [{ attemptsMade: 0, endpointId: { $in: endpoints } }] }
    : {};
}

export function leaseUpdate(replicaId: string, leaseUntil: number): UpdateFilter<DueWorkDoc> {
  return { $set: { leaseOwner: replicaId, leaseUntil } };
}

export const RELEASE_LEASE: UpdateFilter<DueWorkDoc> = {
  $set: { leaseOwner: null, leaseUntil: 0 },
};

/**
 * The write an event makes to the queue, guarded by its position (see guarded-writes.ts): the
 * same decisions as the embedded queue, in the same cases.
 */
export function dueWorkWrite(recorded: RecordedEvent): AnyBulkWriteOperation<DueWorkDoc> | null {
  const event = recorded as unknown as WebhookEventEvent;
  const id = event.data.webhookEventId;
  const position = recorded.position;
  switch (event.type) {
    // A new event, or a redelivery: due now, in log order, with a fresh retry budget.
    case 'WebhookEventCreated':
    case 'WebhookEventRedeliveryRequested': {
      const dueAt =
        event.type === 'WebhookEventCreated' ? event.data.createdAt : event.data.requestedAt;
      return guardedReplace<DueWorkDoc>({
        _id: id,
        endpointId: event.data.endpointId,
        pending: true,
        dueAt: Date.parse(dueAt),
        seq: position,
        attemptsMade: 0,
        leaseOwner: null,
        leaseUntil: 0,
        removedAt: null,
        position,
      });
    }
    case 'DeliveryAttempted':
      if (event.data.retryAt) {
        return guardedMerge<DueWorkDoc>(
          id,
          position,
          { dueAt: Date.parse(event.data.retryAt), leaseOwner: null, leaseUntil: 0 },
          {
            computed: { attemptsMade: { $add: ['$attemptsMade', 1] } },
            condition: { $eq: ['$pending', true] },
          },
        );
      }
      return finished(id, position);
    case 'WebhookEventFailed':
    case 'WebhookEventSkipped':
    case 'WebhookEventArchived':
      return finished(id, position);
    default:
      return null;
  }
}

function finished(id: string, position: number): AnyBulkWriteOperation<DueWorkDoc> {
  return guardedMerge<DueWorkDoc>(id, position, {
    pending: false,
    leaseOwner: null,
    leaseUntil: 0,
    removedAt: new Date(),
  });
}

export function toDueWork(doc: Pick<DueWorkDoc, '_id' | 'endpointId' | 'attemptsMade'>): DueWork {
  return { webhookEventId: doc._id, endpointId: doc.endpointId, attemptsMade: doc.attemptsMade };
}

/**
 * The due-work queue in MongoDB, shared by every replica. Each replica leases items under its own
 * `replicaId` with a conditional single-document update, so no two dispatchers hold one item at
 * once, and `releaseLeases()` ends only this replica's leases.
 *
 * First attempts of one endpoint go out in publish order across replicas: a replica does not
 * lease a first attempt of an endpoint while another replica holds a live lease on a first
 * attempt of that endpoint. The check reads the live leases after choosing the candidates and
 * again after any lease lost to a competitor, so of two replicas racing for the same endpoint the
 * one that loses its earliest item sees the winner's lease before going further. That holds while
 * replicas are alive and their clocks agree to well within a lease; after a crash, an expired
 * lease's item may go out after later ones (at-least-once, as on any engine).
 */
export class MongoDueWork implements MongoProjection, DueWorkQueue {
  readonly name = 'due_work';
  readonly filter = { streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX] };
  private readonly collection: Collection<DueWorkDoc>;

  constructor(
    private readonly db: Db,
    private readonly replicaId: string,
    /** A replay's copy of the read model, on a collection named with this. */
    suffix = '',
  ) {
    this.collection = db.collection<DueWorkDoc>(`${DUE_WORK_COLLECTION}${suffix}`);
  }

  get collections(): readonly string[] {
    return [this.collection.collectionName];
  }

  /** Leases are not projected from the log: a rebuild carries them over (see MongoReplay). */
  readonly unprojectedFields = ['leaseOwner', 'leaseUntil', 'removedAt'];

  /**
   * Gives this queue (a rebuilt copy) the leases that the queue in the collection `retired` (the
   * live one, just renamed away) holds: an item being sent must not be claimed again once this copy replaces
   * it. Only where the item is the same (pending, at the same log position): a lease on an item
   * the rebuild has moved on from would only hold its next attempt back.
   */
  async adoptLeasesFrom(retired: string): Promise<number> {
    const leased = await this.db
      .collection<DueWorkDoc>(retired)
      .find(
        // Every lease, run out or not, by no one's clock in particular: an expired one is harmless.
        { pending: true, leaseUntil: { $gt: 0 } },
        { projection: { position: 1, leaseOwner: 1, leaseUntil: 1 } },
      )
      .toArray();
    if (leased.length === 0) return 0;
    const adopted = await this.collection.bulkWrite(
      leased.map((doc) => ({
        updateOne: {
          filter: { _id: doc._id, position: doc.position, pending: true },
          update: { $set: { leaseOwner: doc.leaseOwner, leaseUntil: doc.leaseUntil } },
        },
      })),
      { ordered: false },
    );
    return adopted.modifiedCount;
  }

  /** In log order, in one round trip: an item is never visible before an earlier one. */
  async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    const writes = events.flatMap((e) => {
      const write = dueWorkWrite(e);
      return write ? [write] : [];
    });
    await writeInOrder(this.collection, writes);
  }

  async reset(): Promise<void> {
    await this.collection.deleteMany({});
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.collection, DUE_WORK_INDEXES);
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<DueWork[]> {
    if (limit <= 0) return [];
    const hint = await this.blockedEndpoints(now);
    const { filter, sort } = dueWorkQueries.claimable(now, [...hint]);
    const candidates = await this.collection
      .find(filter, { projection: { endpointId: 1, attemptsMade: 1 } })
      .sort(sort)
      .limit(limit)
      .toArray();
    if (candidates.length === 0) return [];
    let blocked = await this.blockedEndpoints(now);
    const claimed: DueWork[] = [];
    for (const candidate of candidates) {
      if (candidate.attemptsMade === 0 && blocked.has(candidate.endpointId)) continue;
      const leased = await this.collection.findOneAndUpdate(
        dueWorkQueries.leaseable(candidate._id, now).filter,
        leaseUpdate(this.replicaId, now + leaseMs),
        { returnDocument: 'after', projection: { endpointId: 1, attemptsMade: 1 } },
      );
      if (leased) claimed.push(toDueWork(leased));
      // Someone else took it: their leases may now block the next candidates.
      else blocked = await this.blockedEndpoints(now);
    }
    return claimed;
  }

  async nextDueAt(): Promise<number | null> {
    const now = Date.now();
    const blocked = await this.blockedEndpoints(now);
    const unleased = dueWorkQueries.nextUnleased(now, [...blocked]);
    const leases = dueWorkQueries.liveLeases(now);
    const [next, lease] = await Promise.all([
      this.collection.findOne(unleased.filter, { sort: unleased.sort, projection: { dueAt: 1 } }),
      this.collection.findOne(leases.filter, { sort: leases.sort, projection: { leaseUntil: 1 } }),
    ]);
    const times = [next?.dueAt, lease?.leaseUntil].filter((t): t is number => t !== undefined);
    return times.length > 0 ? Math.min(...times) : null;
  }

  async pendingFor(endpointId: string): Promise<string[]> {
    const { filter, sort } = dueWorkQueries.pendingFor(endpointId);
    const docs = await this.collection
      .find(filter, { projection: { _id: 1 } })
      .sort(sort)
      .toArray();
    return docs.map((doc) => doc._id);
  }

  async releaseLeases(): Promise<void> {
    await this.collection.updateMany(
      dueWorkQueries.ownLeases(this.replicaId).filter,
      RELEASE_LEASE,
    );
  }

  depth(): Promise<number> {
    return this.collection.countDocuments(dueWorkQueries.pending().filter);
  }

  /** Endpoints with a first attempt leased by another replica right now. */
  private async blockedEndpoints(now: number): Promise<Set<string>> {
    const leases = await this.collection
      .find(dueWorkQueries.leasedByOthers(now, this.replicaId).filter, {
        projection: { _id: 0, endpointId: 1, attemptsMade: 1 },
      })
      .toArray();
    return new Set(leases.filter((l) => l.attemptsMade === 0).map((l) => l.endpointId));
  }
}
