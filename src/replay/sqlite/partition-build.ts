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
  const source = opened('read the log in', build.databaseFile, () => {
    return new Database(build.databaseFile, { readonly: true, fileMustExist: true });
  });
  try {
    const scratch = opened('make the scratch file', build.scratchFile, () =>
      openScratchDatabase(build.scratchFile),
    );
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

/** `open()`, its failure naming the file (SQLite's own message does not). */
function opened<T>(what: string, file: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    throw new Error(`Cannot ${what} ${file}: ${(error as Error).message}`);
  }
}

/** The compiled worker (absent when running from the TypeScript sources, as the tests do). */
const WORKER_SCRIPT = join(__dirname, 'partition-worker.js');

/** How often a worker reports its position. */
const PROGRESS_EVERY_MS = 250;

export interface PartitionProgress {
  position: number;
  /** Set once the build has failed: the caller stops its own work rather than finish it. */
  failure?: Error;
}

/**
 * Builds a partition on a worker thread, so that it runs beside the caller's own work; where
 * there is no compiled worker (only when running from the TypeScript sources, as the unit tests
 * do), on this thread, before returning: the same result, one thread's speed, and no progress
 * nor lock renewal while it runs (a test's log takes milliseconds). Resolves once the scratch file
 * is complete; rejects with the worker's error. `progress.position` follows the worker.
 */
export function buildPartitionBeside(build: PartitionBuild): {
  done: Promise<void>;
  progress: PartitionProgress;
  /** Stops the worker if it is still running. */
  stop(): Promise<void>;
  /** Whether it runs on a worker thread (rather than on this one, before returning). */
  onWorkerThread: boolean;
} {
  const progress: PartitionProgress = { position: 0 };
  if (!existsSync(WORKER_SCRIPT)) {
    const stop = () => Promise.resolve();
    try {
      buildPartition(build, (position) => (progress.position = position));
      return { done: Promise.resolve(), progress, stop, onWorkerThread: false };
    } catch (error) {
      progress.failure = error as Error;
      return { done: Promise.reject(progress.failure), progress, stop, onWorkerThread: false };
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
    worker.on('error', (error: Error) =>
      reject(new Error(`The replay's worker thread failed: ${error.message}`)),
    );
    worker.on('exit', (code) => {
      if (finished) resolve();
      else reject(new Error(`The replay's worker thread stopped (exit code ${code})`));
    });
  });
  done.catch((error: Error) => (progress.failure = error));
  return {
    done,
    progress,
    stop: () => worker.terminate().then(() => undefined),
    onWorkerThread: true,
  };
}

/** Removes a scratch file and what SQLite may have left beside it. */
export function removeScratch(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm'])
    rmSync(`${file}${suffix}`, { force: true });
}
