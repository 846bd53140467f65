import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Db, Document } from 'mongodb';
import { EventFilter, EventStore, combinedFilter } from '../../eventstore/event-store';
import { MongoProjection } from '../../projections/mongo/mongo-projection';
import { ProjectionLeaseStore } from '../../projections/mongo/projection-lease';
import {
  Difference,
  ProgressListener,
  ReadModelReplay,
  ReplaySummary,
  VerifySummary,
} from '../read-model-replay';
import { splitRead } from '../log-batch';
import { compareKeys } from '../row-diff';

/** Events read and applied at once (one bulk write per collection). */
const BATCH_SIZE = 1_000;
const SHADOW_INFIX = '__replay_';
const VERIFY_INFIX = '__verify_';
/** A live collection renamed away during a switch, until its leases are taken over. */
const RETIRED_INFIX = '__retired_';
const LOCK_COLLECTION = 'read_model_replay';
/** The replay lock lasts this long without renewal (every batch renews it). */
const LOCK_LEASE_MS = 60_000;

export interface MongoReplaySetup {
  db: Db;
  store: EventStore;
  /** The live read models, in the runner's order. */
  live: readonly MongoProjection[];
  /** The same read models, on collections named with `suffix`. */
  build(suffix: string): MongoProjection[];
  /** The projection lease, under an identity of the replay's own. */
  leases: ProjectionLeaseStore;
  /** Events read and applied at once (default 1,000). */
  batchSize?: number;
}

interface ReplayLockDoc {
  _id: string;
  owner: string;
  startedAt: string;
  until: Date;
}

/**
 * Replay and verification of the MongoDB read models.
 *
 * `replay` builds fresh collections beside the live ones (same names with a suffix) from position
 * 0 of the log while the service keeps projecting into the live ones. Then it takes the
 * projection lease over (the service's runner is fenced out and waits), applies what was
 * appended meanwhile, gives the rebuilt queue the leases of items being sent, renames each
 * rebuilt collection over its live one, moves the checkpoints to the head and releases the lease:
 * the service's runner takes it back and goes on from there. MongoDB renames one collection at a
 * time: for the milliseconds between the first rename and the last, a reader may see one read
 * model rebuilt and another not yet (each consistent in itself). The service's runner, fenced
 * out, may still be finishing one batch: its writes of events up to the switch's position are
 * no-ops on the rebuilt documents (guarded by position), but one of a later event, if it lands
 * after the rename, carries the state it read from the replaced document. Such a document is
 * right unless the replaced one was wrong: verify shows it, and another replay repairs it.
 *
 * `verify` rebuilds into scratch collections up to the checkpoints the live read models had when
 * it started and compares them document by document. The live ones keep moving meanwhile (there
 * is no snapshot of several collections): documents that applied a later event are not
 * compared, and are counted as such.
 */
export class MongoReplay implements ReadModelReplay {
  constructor(private readonly setup: MongoReplaySetup) {}

  async replay(onProgress: ProgressListener): Promise<ReplaySummary> {
    const { db, store, live, leases } = this.setup;
    const lock = await this.lock();
    try {
      await this.dropLeftovers();
      const started = Date.now();
      const id = Date.now().toString(36);
      const shadow = this.setup.build(`${SHADOW_INFIX}${id}`);
      const log = new MongoLogCursor(store, shadow, this.batchSize);
      try {
        // Made now, even those no event will write to: a rename needs its source to exist.
        for (const name of shadow.flatMap((p) => p.collections)) await db.createCollection(name);
        await Promise.all(shadow.map((projection) => projection.ensureIndexes()));
        // The bulk of the log, up to the head as it moves; the service is not held up.
        for (;;) {
          const head = await store.headPosition();
          if (head - log.position <= this.batchSize) break;
          await log.applyNext(head);
          await lock.renew();
          onProgress({ applied: log.position, total: head });
        }
      } catch (error) {
        await this.dropCollections((name) => shadow.some((p) => p.collections.includes(name)));
        throw error;
      }
      // The rest and the switch, holding the projection lease: the live read models stand still.
      const lease = await leases.takeOver();
      let head = 0;
      let renamed = false;
      const stillHeld = async () => {
        if (!(await leases.renew(lease.token))) throw new Error(LOST);
        await lock.renew();
      };
      try {
        head = await store.headPosition();
        while (log.position < head) {
          await log.applyNext(head);
          await stillHeld();
        }
        onProgress({ applied: head, total: head, stage: 'switching over' });
        try {
          for (let i = 0; i < live.length; i++) {
            for (let j = 0; j < live[i].collections.length; j++) {
              await stillHeld();
              renamed = true;
              await switchCollection(
                db,
                shadow[i],
                shadow[i].collections[j],
                live[i].collections[j],
                id,
              );
            }
          }
        } catch (error) {
          throw new Error(
            `Replay failed while switching over (${(error as Error).message}): some read models ` +
              'may be rebuilt and others not yet; run replay again',
          );
        }
        const saved = await leases.save(
          lease.token,
          Object.fromEntries(live.map((projection) => [projection.name, head])),
        );
        if (!saved) throw new Error(UNSAVED);
      } catch (error) {
        if (!renamed) {
          await this.dropCollections((name) => shadow.some((p) => p.collections.includes(name)));
        }
        throw error;
      } finally {
        // A release that fails leaves the lease to run out: the error that matters is the one before.
        await leases.release(lease.token).catch(() => undefined);
      }
      const switched = Date.now();
      onProgress({ applied: head, total: head });
      return {
        events: head,
        position: head,
        rows: await this.counts(live),
        rebuildMs: switched - started,
        cleanupMs: 0,
        threads: 1,
      };
    } finally {
      await lock.release();
    }
  }

  async verify(
    onProgress: ProgressListener,
    onDifference: (difference: Difference) => void,
  ): Promise<VerifySummary> {
    // One replay or verify at a time: a replay's renames would pull the collections from under
    // the comparison.
    const lock = await this.lock();
    try {
      await this.dropLeftovers();
      return await this.compare(onProgress, onDifference, lock);
    } finally {
      await lock.release();
    }
  }

  private async compare(
    onProgress: ProgressListener,
    onDifference: (difference: Difference) => void,
    lock: ReplayLock,
  ): Promise<VerifySummary> {
    const { db, store, live, leases } = this.setup;
    const checkpoints = await leases.checkpoints();
    const targets = live.map((projection) => checkpoints[projection.name] ?? 0);
    const position = Math.max(0, ...targets);
    const scratch = this.setup.build(`${VERIFY_INFIX}${Date.now().toString(36)}`);
    try {
      const log = new MongoLogCursor(store, scratch, this.batchSize, targets);
      while (log.position < position) {
        await log.applyNext(position);
        await lock.renew();
        onProgress({ applied: log.position, total: position });
      }
      onProgress({ applied: position, total: position });
      let differences = 0;
      const rows: Record<string, number> = {};
      for (let i = 0; i < live.length; i++) {
        const skip = new Set(['position', ...(live[i].unprojectedFields ?? [])]);
        for (let j = 0; j < live[i].collections.length; j++) {
          const name = live[i].collections[j];
          let count = 0;
          const compared = diffCollections(
            name,
            renewing(
              byId(db.collection(name), () => count++),
              lock,
            ),
            renewing(byId(db.collection(scratch[i].collections[j])), lock),
            targets[i],
            skip,
          );
          for await (const difference of compared) {
            differences++;
            onDifference(difference);
          }
          rows[name] = count;
        }
      }
      return { events: position, position, rows, differences };
    } finally {
      await this.dropCollections((name) => scratch.some((p) => p.collections.includes(name)));
    }
  }

  /**
   * What a replay or verify that was killed left: only ever run holding the lock. A live
   * collection renamed away by a switch that died before putting its copy in place goes back.
   */
  private async dropLeftovers(): Promise<void> {
    const { db } = this.setup;
    const names = new Set(
      (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
    );
    for (const name of [...names]) {
      const at = name.indexOf(RETIRED_INFIX);
      if (at > 0 && !names.has(name.slice(0, at))) {
        await db.collection(name).rename(name.slice(0, at));
        names.add(name.slice(0, at));
      } else if (
        [SHADOW_INFIX, VERIFY_INFIX, RETIRED_INFIX].some((infix) => name.includes(infix))
      ) {
        await db.collection(name).drop();
      }
    }
  }

  private get batchSize(): number {
    return this.setup.batchSize ?? BATCH_SIZE;
  }

  private async counts(projections: readonly MongoProjection[]): Promise<Record<string, number>> {
    const rows: Record<string, number> = {};
    for (const name of projections.flatMap((p) => p.collections)) {
      rows[name] = await this.setup.db.collection(name).estimatedDocumentCount();
    }
    return rows;
  }

  private async dropCollections(which: (name: string) => boolean): Promise<void> {
    const names = await this.setup.db.listCollections({}, { nameOnly: true }).toArray();
    for (const { name } of names) {
      if (which(name)) await this.setup.db.collection(name).drop();
    }
  }

  /**
   * Takes the database's replay lock (one replay at a time), or fails naming its holder. It is
   * taken over once its lease has run out (by the server's clock): a replay that was killed
   * holds it up for a minute at most.
   */
  private async lock(): Promise<ReplayLock> {
    const locks: Collection<ReplayLockDoc> = this.setup.db.collection(LOCK_COLLECTION);
    const owner = `${hostname()}/${randomUUID()}`;
    const take = (): Document[] => [
      {
        $set: {
          owner: { $literal: owner },
          startedAt: { $literal: new Date().toISOString() },
          until: { $add: ['$$NOW', LOCK_LEASE_MS] },
        },
      },
    ];
    await locks.updateOne(
      { _id: 'replay' },
      { $setOnInsert: { until: new Date(0) } },
      {
        upsert: true,
      },
    );
    const taken = await locks.findOneAndUpdate(
      { _id: 'replay', $expr: { $lte: ['$until', '$$NOW'] } },
      take(),
    );
    if (!taken) {
      const holder = await locks.findOne({ _id: 'replay' });
      throw new Error(
        `Another replay or verify is running on this database (${holder?.owner ?? 'unknown'}, started ` +
          `${holder?.startedAt ?? 'unknown'}; taken over if it has not renewed its lock by ` +
          `${holder?.until.toISOString() ?? 'unknown'})`,
      );
    }
    return {
      renew: async () => {
        const renewed = await locks.updateOne({ _id: 'replay', owner }, [
          { $set: { until: { $add: ['$$NOW', LOCK_LEASE_MS] } } },
        ]);
        if (renewed.matchedCount === 0) {
          throw new Error('Replay stopped: another replay took its lock over (it ran too slowly)');
        }
      },
      // A release that fails leaves the lock to run out: the error that matters is the one before.
      release: async () => {
        await locks
          .updateOne({ _id: 'replay', owner }, { $set: { until: new Date(0) } })
          .catch(() => undefined);
      },
    };
  }
}

const LOST =
  'Replay stopped before switching over: the projection lease was taken back (the replay ran too slowly?)';
const UNSAVED =
  'Replay switched every read model over but could not save its position (the projection ' +
  'lease was taken back): the service applies the log again from its own, which changes ' +
  'nothing; replay --verify checks it';
/** Renames of a due-work copy into place, each after a stand-in was made meanwhile. */
const MAX_SWITCH_ATTEMPTS = 3;

/**
 * Puts a rebuilt collection in the place of a live one. Others are renamed over the live one at
 * once. A read model holding leases (due work) first has its live collection renamed away, so
 * that nothing is claimed in it any more, and its rebuilt copy takes over the leases held
 * there; then the copy takes the name, never over a collection (no dropTarget): if the fenced
 * runner's last write made the collection again meanwhile (an upsert), and something was
 * claimed in it, that one is renamed away and its leases taken over too. While the name is
 * free, a claim finds nothing and the queue reads as empty (milliseconds). On a failure with
 * the name free, the live collection is put back.
 */
export async function switchCollection(
  db: CollectionRenames,
  rebuilt: Pick<MongoProjection, 'adoptLeasesFrom'>,
  from: string,
  to: string,
  id: string,
): Promise<void> {
  if (!rebuilt.adoptLeasesFrom) {
    await db.collection(from).rename(to, { dropTarget: true });
    return;
  }
  const retired: string[] = [];
  try {
    for (let attempt = 0; ; attempt++) {
      if (await exists(db, to)) {
        const name = `${to}${RETIRED_INFIX}${id}_${attempt}`;
        await db.collection(to).rename(name);
        retired.push(name);
        await rebuilt.adoptLeasesFrom(name);
      }
      try {
        await db.collection(from).rename(to);
        break;
      } catch (error) {
        if (!isNamespaceExists(error) || attempt >= MAX_SWITCH_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    if (retired.length > 0 && !(await exists(db, to))) {
      await db.collection(retired.shift()!).rename(to);
    }
    throw error;
  }
  for (const name of retired) await db.collection(name).drop();
}

/** The part of a Db a switch uses. */
export type CollectionRenames = Pick<Db, 'listCollections' | 'collection'>;

async function exists(db: CollectionRenames, name: string): Promise<boolean> {
  const found = await db.listCollections({ name }, { nameOnly: true }).toArray();
  return found.length > 0;
}

/** MongoDB's NamespaceExists: the target of a rename exists. */
function isNamespaceExists(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 48;
}

interface ReplayLock {
  renew(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Reads the log forward through the EventStore port and applies it to a set of projections, each
 * up to its own `until` position (verify stops each at its live checkpoint).
 */
class MongoLogCursor {
  position = 0;
  private readonly filter: EventFilter | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly projections: readonly MongoProjection[],
    private readonly batchSize: number,
    private readonly until?: readonly number[],
  ) {
    this.filter = combinedFilter(projections.map((p) => p.filter));
  }

  async applyNext(head: number): Promise<void> {
    const read = await this.store.readAll({
      fromPosition: this.position,
      maxCount: this.batchSize,
      filter: this.filter,
    });
    const { parts, position } = splitRead(read, this.batchSize, head, this.projections, this.until);
    await Promise.all(
      this.projections.map((projection, i) =>
        parts[i].length > 0 ? projection.applyBatch(parts[i]) : Promise.resolve(),
      ),
    );
    this.position = position;
  }
}

export type Doc = Document & { _id: unknown; position?: number };

/** Passes documents through, renewing the lock now and then: a comparison may take minutes. */
async function* renewing(docs: AsyncIterable<Doc>, lock: ReplayLock): AsyncGenerator<Doc> {
  let n = 0;
  for await (const doc of docs) {
    if (++n % 10_000 === 0) await lock.renew();
    yield doc;
  }
}

/** Every document of a collection in `_id` order (MongoDB's order for string ids: UTF-8 bytes). */
async function* byId(collection: Collection<Document>, onDoc = () => {}): AsyncGenerator<Doc> {
  for await (const doc of collection.find({}).sort({ _id: 1 })) {
    onDoc();
    yield doc as Doc;
  }
}

/**
 * The differences between a live collection and its rebuild, both read in `_id` order. A live
 * document that applied an event past `target` moved on after the rebuild's position: not
 * compared. A rebuilt document that has been removed (due work's `removedAt`) and is gone from
 * the live collection was deleted by its TTL index: not drift either.
 */
export async function* diffCollections(
  name: string,
  live: AsyncIterable<Doc>,
  rebuilt: AsyncIterable<Doc>,
  target: number,
  skip: ReadonlySet<string>,
): AsyncGenerator<Difference> {
  const other = rebuilt[Symbol.asyncIterator]();
  try {
    yield* mergeJoin(name, live, other, target, skip);
  } finally {
    await other.return?.();
  }
}

async function* mergeJoin(
  name: string,
  live: AsyncIterable<Doc>,
  other: AsyncIterator<Doc>,
  target: number,
  skip: ReadonlySet<string>,
): AsyncGenerator<Difference> {
  let next = await other.next();
  const movedOn = (doc: Doc) => (doc.position ?? 0) > target;
  for await (const doc of live) {
    while (!next.done && compareKeys(next.value._id, doc._id) < 0) {
      const missing = next.value as Doc;
      if (!missing.removedAt) yield difference(name, missing, 'missing');
      next = await other.next();
    }
    if (!next.done && compareKeys(next.value._id, doc._id) === 0) {
      const fields = movedOn(doc) ? [] : diffFields(doc, next.value as Doc, skip);
      if (fields.length > 0) yield { table: name, key: String(doc._id), kind: 'changed', fields };
      next = await other.next();
    } else if (!movedOn(doc)) {
      yield difference(name, doc, 'unexpected');
    }
  }
  for (; !next.done; next = await other.next()) {
    const missing = next.value as Doc;
    if (!missing.removedAt) yield difference(name, missing, 'missing');
  }
}

function difference(name: string, doc: Doc, kind: 'missing' | 'unexpected'): Difference {
  return { table: name, key: String(doc._id), kind, fields: [] };
}

/** The top-level fields that differ, compared by value (key order aside). */
export function diffFields(
  live: Doc,
  rebuilt: Doc,
  skip: ReadonlySet<string>,
): Difference['fields'] {
  const names = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])];
  return names
    .filter((field) => !skip.has(field))
    .filter((field) => canonical(live[field]) !== canonical(rebuilt[field]))
    .map((field) => ({ field, live: live[field] as unknown, rebuilt: rebuilt[field] as unknown }));
}

/** A value as JSON with object keys sorted, dates as ISO strings: equal values, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(sorted(value)) ?? 'undefined';
}

function sorted(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === 'object' && value.constructor === Object) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
