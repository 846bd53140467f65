import Database from 'better-sqlite3';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SqliteLogPages, StreamPartition } from '../../eventstore/sqlite/log-pages';
import { TableNames } from '../../projections/sqlite/schema';
import { createSqliteReadModels } from '../../projections/sqlite/sqlite-read-models';
import { LogCursor } from './log-cursor';

/** Page cache of a scratch file: 32 MiB (negative: KiB). */
const SCRATCH_CACHE_KIB = -32_768;

/**
 * A database file for rebuilt read models that nobody else uses and nothing needs to survive
 * the process: no journal, no sync.
 */
export function openScratchDatabase(file: string): Database.Database {
  const scratch = new Database(file);
  scratch.pragma('journal_mode = OFF');
  scratch.pragma('synchronous = OFF');
  scratch.pragma(`cache_size = ${SCRATCH_CACHE_KIB}`);
  return scratch;
}

/** One part of the log to rebuild into a scratch file (all plain data: it crosses threads). */
export interface PartitionBuild {
  /** The live database file, only read. */
  databaseFile: string;
  /** Made here, tables without their secondary indexes (the rows are copied out of it). */
  scratchFile: string;
  /** The last position to apply. */
  until: number;
  partition: StreamPartition;
  batchSize: number;
}

/**
 * Applies the events of one partition of the log, up to `until`, to fresh read models in a
 * scratch file, a batch per transaction, calling `onProgress` with the position reached.
 */
export function buildPartition(
  build: PartitionBuild,
  onProgress: (position: number) => void,
): void {
  const source = new Database(build.databaseFile, { readonly: true, fileMustExist: true });
  try {
    const scratch = openScratchDatabase(build.scratchFile);
    try {
      const models = createSqliteReadModels(scratch, undefined, new TableNames('', true)).all;
      const log = new LogCursor(new SqliteLogPages(source), models, build.batchSize, {
        partition: build.partition,
      });
      const applyNext = scratch.transaction(() => log.applyNext(build.until));
      while (log.position < build.until) {
        applyNext();
        onProgress(log.position);
      }
    } finally {
      scratch.close();
    }
  } finally {
    source.close();
  }
}

/** The compiled worker (absent when running from the TypeScript sources, as the tests do). */
const WORKER_SCRIPT = join(__dirname, 'partition-worker.js');

/** How often a worker reports its position. */
const PROGRESS_EVERY_MS = 250;

export interface PartitionProgress {
  position: number;
}

/**
 * Builds a partition on a worker thread, so that it runs beside the caller's own work; where
 * there is no compiled worker, on this thread, before returning. Resolves once the scratch file
 * is complete; rejects with the worker's error. `progress.position` follows the worker.
 */
export function buildPartitionBeside(build: PartitionBuild): {
  done: Promise<void>;
  progress: PartitionProgress;
  /** Stops the worker if it is still running. */
  stop(): Promise<void>;
} {
  const progress = { position: 0 };
  if (!existsSync(WORKER_SCRIPT)) {
    const stop = () => Promise.resolve();
    try {
      buildPartition(build, (position) => (progress.position = position));
      return { done: Promise.resolve(), progress, stop };
    } catch (error) {
      return { done: Promise.reject(error as Error), progress, stop };
    }
  }
  const worker = new Worker(WORKER_SCRIPT, {
    workerData: { build, progressEveryMs: PROGRESS_EVERY_MS },
  });
  const done = new Promise<void>((resolve, reject) => {
    let finished = false;
    worker.on('message', (message: { position?: number; done?: true }) => {
      if (message.position !== undefined) progress.position = message.position;
      if (message.done) finished = true;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (finished) resolve();
      else reject(new Error(`The replay's worker thread stopped (exit code ${code})`));
    });
  });
  // Whoever stops it early reports why; this only keeps the rejection from going unhandled.
  done.catch(() => undefined);
  return { done, progress, stop: () => worker.terminate().then(() => undefined) };
}

/** Removes a scratch file and what SQLite may have left beside it. */
export function removeScratch(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm'])
    rmSync(`${file}${suffix}`, { force: true });
}
