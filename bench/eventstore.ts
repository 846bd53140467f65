/**
 * `npm run bench -- eventstore`: append throughput of the SQLite event store adapter, measured
 * next to a raw better-sqlite3 insert loop on the same schema, pragmas, rows and commit sizes.
 * See bench/README.md for what each figure means.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NewEvent } from '../src/eventstore/event-store';
import { SqliteDatabase, openSqliteDatabase } from '../src/eventstore/sqlite/sqlite-database';
import { SqliteEventStore } from '../src/eventstore/sqlite/sqlite-event-store';
import {
  describeCpu,
  filesystemOf,
  fmt,
  median,
  mulberry32,
  progressFor,
  withTempRoot,
} from './support';

/** Appends issued in one tick by the group-commit run = rows per transaction of the raw loop. */
const COMMIT_SIZE = 1_000;
/** Events written by each batched run (raw, concurrent appends, multi-event appends). */
const BATCHED_EVENTS = 50_000;
/** Events (= commits) written by each single-append run. */
const SINGLE_EVENTS = 500;
/** Events per append call in the multi-event run; COMMIT_SIZE / this many calls per tick. */
const EVENTS_PER_CALL = 100;
const REPETITIONS = 3;
/** The acceptance target: batched adapter throughput / raw loop throughput. */
const TARGET_RATIO = 0.5;
const EVENT_TYPE = 'MessageAccepted';

type Variant =
  | 'rawSingle'
  | 'adapterSingle'
  | 'rawBatched'
  | 'rawBatchedJson'
  | 'adapterBatched'
  | 'adapterMulti';

interface VariantInfo {
  label: string;
  events: number;
  perCommit: string;
  /** The raw variant this one is compared with. */
  baseline?: Variant;
}

const VARIANTS: Record<Variant, VariantInfo> = {
  rawSingle: {
    label: 'raw better-sqlite3 insert loop, 1 row per tx',
    events: SINGLE_EVENTS,
    perCommit: '1',
  },
  adapterSingle: {
    label: 'adapter, single appends (await each append)',
    events: SINGLE_EVENTS,
    perCommit: '1',
    baseline: 'rawSingle',
  },
  rawBatched: {
    label: `raw better-sqlite3 insert loop, ${fmt(COMMIT_SIZE)} rows per tx`,
    events: BATCHED_EVENTS,
    perCommit: fmt(COMMIT_SIZE),
  },
  rawBatchedJson: {
    label: `raw loop as above + JSON.stringify in the loop`,
    events: BATCHED_EVENTS,
    perCommit: fmt(COMMIT_SIZE),
    baseline: 'rawBatched',
  },
  adapterBatched: {
    label: `adapter, batched: ${fmt(COMMIT_SIZE)} concurrent 1-event appends`,
    events: BATCHED_EVENTS,
    perCommit: fmt(COMMIT_SIZE),
    baseline: 'rawBatched',
  },
  adapterMulti: {
    label: `adapter, batched: ${COMMIT_SIZE / EVENTS_PER_CALL} concurrent ${EVENTS_PER_CALL}-event appends`,
    events: BATCHED_EVENTS,
    perCommit: fmt(COMMIT_SIZE),
    baseline: 'rawBatched',
  },
};

/** Run order inside one repetition; interleaved so that machine drift hits every variant alike. */
const ORDER: readonly Variant[] = [
  'rawSingle',
  'adapterSingle',
  'rawBatched',
  'rawBatchedJson',
  'adapterBatched',
  'adapterMulti',
];

/** The rows every variant writes, built once before any timing. */
interface Workload {
  events: NewEvent[];
  /** The same events serialised, as the raw loop inserts them (no JSON work in its timed loop). */
  data: string[];
  metadata: string[];
  streamIds: string[];
  /** For the multi-event run: one stream and EVENTS_PER_CALL events per append call. */
  chunks: Array<{ streamId: string; events: NewEvent[] }>;
}

export async function runEventStoreBench(args: readonly string[]): Promise<number> {
  let baseDir = tmpdir();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir' && args[i + 1]) {
      baseDir = args[++i];
    } else {
      process.stderr.write(
        `Unknown option ${args[i]}\nUsage: npm run bench -- eventstore [--dir <parent of temp dirs>]\n`,
      );
      return 2;
    }
  }

  return withTempRoot(baseDir, 'rapidly-bench-eventstore-', benchmark);
}

async function benchmark(root: string): Promise<number> {
  const started = performance.now();
  const workload = buildWorkload(Math.max(BATCHED_EVENTS, SINGLE_EVENTS));
  const sizes = workload.data.map((d) => Buffer.byteLength(d));
  const meanSize = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  progress(
    `workload: ${fmt(workload.events.length)} events, data JSON ${sizes.reduce((a, b) => Math.min(a, b))}-${sizes.reduce((a, b) => Math.max(a, b))} B (mean ${meanSize.toFixed(0)} B), metadata ~${Buffer.byteLength(workload.metadata[0])} B`,
  );
  const env = describeEnvironment(root);

  let runCounter = 0;
  const measure = async (variant: Variant, events: number): Promise<number> => {
    const dir = join(root, `run-${++runCounter}`);
    try {
      return await RUNNERS[variant](dir, workload, events);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  progress('warm-up (not reported)');
  for (const variant of ORDER) {
    await measure(
      variant,
      Math.min(VARIANTS[variant].events, variant.endsWith('Single') ? 200 : 5_000),
    );
  }

  const results = Object.fromEntries(ORDER.map((v) => [v, [] as number[]])) as Record<
    Variant,
    number[]
  >;
  for (let rep = 1; rep <= REPETITIONS; rep++) {
    for (const variant of ORDER) {
      const info = VARIANTS[variant];
      const seconds = await measure(variant, info.events);
      const rate = info.events / seconds;
      results[variant].push(rate);
      progress(
        `run ${rep}/${REPETITIONS}  ${info.label.padEnd(52)} ${fmt(info.events).padStart(7)} events in ${seconds.toFixed(3)} s = ${fmt(rate).padStart(9)} events/s`,
      );
    }
  }

  const medians = Object.fromEntries(ORDER.map((v) => [v, median(results[v])])) as Record<
    Variant,
    number
  >;
  const ratio = (v: Variant) => medians[v] / medians[VARIANTS[v].baseline ?? v];
  const batchedRatio = ratio('adapterBatched');
  const multiRatio = ratio('adapterMulti');
  const pass = batchedRatio >= TARGET_RATIO && multiRatio >= TARGET_RATIO;

  const out: string[] = [];
  out.push('');
  out.push('Event store append throughput (SqliteEventStore vs raw better-sqlite3)');
  out.push(env);
  out.push(
    `Each figure: events/s; median of ${REPETITIONS} runs after a warm-up, each run on a fresh database.`,
  );
  out.push('');
  const header = [
    'workload'.padEnd(52),
    'events'.padStart(7),
    'per commit'.padStart(10),
    ...Array.from({ length: REPETITIONS }, (_, i) => `run ${i + 1}`.padStart(9)),
    'median'.padStart(9),
    'vs raw'.padStart(7),
  ].join('  ');
  out.push(header);
  out.push('-'.repeat(header.length));
  for (const variant of ORDER) {
    const info = VARIANTS[variant];
    out.push(
      [
        info.label.padEnd(52),
        fmt(info.events).padStart(7),
        info.perCommit.padStart(10),
        ...results[variant].map((r) => fmt(r).padStart(9)),
        fmt(medians[variant]).padStart(9),
        (info.baseline ? ratio(variant).toFixed(2) : '1.00').padStart(7),
      ].join('  '),
    );
  }
  out.push('');
  out.push(
    `ratio single  (adapter / raw, 1 event per commit):               ${ratio('adapterSingle').toFixed(2)}`,
  );
  out.push(
    `ratio batched (adapter / raw, ${fmt(COMMIT_SIZE)} events per commit, group commit): ${batchedRatio.toFixed(2)}`,
  );
  out.push(
    `ratio batched (adapter / raw, ${fmt(COMMIT_SIZE)} events per commit, ${EVENTS_PER_CALL}-event appends): ${multiRatio.toFixed(2)}`,
  );
  out.push(
    `(the batched adapter reaches ${(medians.adapterBatched / medians.rawBatchedJson).toFixed(2)} of the raw loop that also serialises the events)`,
  );
  out.push('');
  out.push(
    `${pass ? 'PASS' : 'FAIL'}: batched adapter reaches ${Math.min(batchedRatio, multiRatio).toFixed(2)} of the raw loop (target >= ${TARGET_RATIO.toFixed(2)})`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return pass ? 0 : 1;
}

type Runner = (dir: string, workload: Workload, events: number) => Promise<number>;

const RUNNERS: Record<Variant, Runner> = {
  rawSingle: (dir, workload, events) => rawInsertLoop(dir, workload, events, 1, false),
  rawBatched: (dir, workload, events) => rawInsertLoop(dir, workload, events, COMMIT_SIZE, false),
  rawBatchedJson: (dir, workload, events) =>
    rawInsertLoop(dir, workload, events, COMMIT_SIZE, true),

  adapterSingle: (dir, workload, events) =>
    withAdapter(dir, events, async (store) => {
      const { events: all, streamIds } = workload;
      for (let i = 0; i < events; i++) {
        await store.append(streamIds[i], [all[i]], 'no_stream');
      }
    }),

  adapterBatched: (dir, workload, events) =>
    withAdapter(dir, events, async (store) => {
      const { events: all, streamIds } = workload;
      for (let from = 0; from < events; from += COMMIT_SIZE) {
        const appends: Array<Promise<unknown>> = [];
        for (let i = from; i < Math.min(from + COMMIT_SIZE, events); i++) {
          appends.push(store.append(streamIds[i], [all[i]], 'no_stream'));
        }
        await Promise.all(appends);
      }
    }),

  adapterMulti: (dir, workload, events) =>
    withAdapter(dir, events, async (store) => {
      const chunks = workload.chunks.slice(0, Math.ceil(events / EVENTS_PER_CALL));
      const callsPerTick = COMMIT_SIZE / EVENTS_PER_CALL;
      for (let from = 0; from < chunks.length; from += callsPerTick) {
        await Promise.all(
          chunks
            .slice(from, from + callsPerTick)
            .map((chunk) => store.append(chunk.streamId, chunk.events, 'no_stream')),
        );
      }
    }),
};

/**
 * The ceiling: the adapter's own schema (created by its constructor) and openSqliteDatabase's
 * pragmas with synchronous=FULL (SQLite fsyncs every commit, as durable as the adapter's own
 * WAL sync), the same rows pre-serialised, one prepared INSERT in BEGIN IMMEDIATE transactions of
 * `rowsPerCommit` rows. With `serialise`, the loop JSON.stringifies each event itself, as any
 * store taking event objects must (informational). Returns the elapsed seconds.
 */
async function rawInsertLoop(
  dir: string,
  workload: Workload,
  events: number,
  rowsPerCommit: number,
  serialise: boolean,
): Promise<number> {
  const db = openSqliteDatabase(dir);
  // The adapter syncs the WAL itself before acknowledging; a raw loop has SQLite sync each commit.
  db.pragma('synchronous = FULL');
  try {
    await new SqliteEventStore(db).close(); // creates the schema, then stays out of the way
    const insert = db.prepare<[string, number, string, string, string, string]>(
      'INSERT INTO events (stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const { streamIds, data, metadata, events: objects } = workload;
    const writeRows = db.transaction((from: number, to: number, recordedAt: string) => {
      if (serialise) {
        for (let i = from; i < to; i++) {
          const event = objects[i];
          const json = JSON.stringify(event.data);
          insert.run(streamIds[i], 0, event.type, json, JSON.stringify(event.metadata), recordedAt);
        }
      } else {
        for (let i = from; i < to; i++) {
          insert.run(streamIds[i], 0, EVENT_TYPE, data[i], metadata[i], recordedAt);
        }
      }
    });
    const start = performance.now();
    for (let from = 0; from < events; from += rowsPerCommit) {
      writeRows.immediate(from, Math.min(from + rowsPerCommit, events), new Date().toISOString());
    }
    const seconds = (performance.now() - start) / 1000;
    verifyRowCount(db, events);
    return seconds;
  } finally {
    db.close();
  }
}

/** Opens the adapter exactly as the embedded engine does, times `work`, checks the row count. */
async function withAdapter(
  dir: string,
  events: number,
  work: (store: SqliteEventStore) => Promise<void>,
): Promise<number> {
  const db = openSqliteDatabase(dir);
  const store = new SqliteEventStore(db);
  try {
    const start = performance.now();
    await work(store);
    const seconds = (performance.now() - start) / 1000;
    const head = await store.headPosition();
    if (head !== events)
      throw new Error(`Adapter wrote up to position ${head}, expected ${events}`);
    verifyRowCount(db, events);
    return seconds;
  } finally {
    await store.close();
    db.close();
  }
}

function verifyRowCount(db: SqliteDatabase, expected: number): void {
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number };
  if (n !== expected) throw new Error(`Expected ${expected} rows in events, found ${n}`);
}

/** Webhook-ish events: a message accepted for delivery, data JSON between 300 and 500 bytes. */
function buildWorkload(count: number): Workload {
  const random = mulberry32(0x5eed);
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const words = ['invoice', 'paid', 'for', 'order', 'customer', 'subscription', 'renewed', 'plan'];
  const types = ['invoice.paid', 'order.created', 'customer.updated', 'subscription.renewed'];
  const workspaceId = uuid();
  const events: NewEvent[] = [];
  for (let i = 0; i < count; i++) {
    const data = {
      messageId: `msg_${hex(20)}`,
      endpointId: uuid(),
      eventType: types[i % types.length],
      payload: {
        id: `obj_${hex(12)}`,
        amount: Math.floor(random() * 100_000),
        currency: 'EUR',
        customer: `cus_${hex(12)}`,
        description: '',
      },
      acceptedAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    };
    const target = 300 + Math.floor(random() * 201);
    let description = '';
    while (JSON.stringify(data).length + description.length < target) {
      description += `${words[Math.floor(random() * words.length)]} `;
    }
    data.payload.description = description.slice(0, target - JSON.stringify(data).length);
    events.push({
      type: EVENT_TYPE,
      data,
      metadata: { workspaceId, correlationId: uuid(), source: 'api' },
    });
  }
  const chunks: Workload['chunks'] = [];
  for (let i = 0; i < count; i += EVENTS_PER_CALL) {
    chunks.push({
      streamId: `batch-${i / EVENTS_PER_CALL}`,
      events: events.slice(i, i + EVENTS_PER_CALL),
    });
  }
  return {
    events,
    data: events.map((e) => JSON.stringify(e.data)),
    metadata: events.map((e) => JSON.stringify(e.metadata ?? {})),
    streamIds: events.map((_, i) => `message-${i}`),
    chunks,
  };
}

function describeEnvironment(root: string): string {
  const db = openSqliteDatabase(join(root, 'probe'));
  try {
    const journal = db.pragma('journal_mode', { simple: true });
    const synchronous = db.pragma('synchronous', { simple: true });
    if (journal !== 'wal' || synchronous !== 1) {
      throw new Error(`Unexpected pragmas: journal_mode=${journal}, synchronous=${synchronous}`);
    }
    const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    return [
      `SQLite ${sqlite} (better-sqlite3 ${betterSqliteVersion()}), journal_mode=WAL; every commit durable before it counts:`,
      '  adapter: synchronous=NORMAL + its own fdatasync of the WAL off the event loop; raw loops: synchronous=FULL',
      describeCpu(),
      `data in ${root} (${filesystemOf(root)}), removed afterwards`,
    ].join('\n');
  } finally {
    db.close();
    rmSync(join(root, 'probe'), { recursive: true, force: true });
  }
}

function betterSqliteVersion(): string {
  try {
    const manifest = readFileSync(require.resolve('better-sqlite3/package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const progress = progressFor('eventstore');
