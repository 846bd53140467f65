/** How far a rebuild has got: events applied so far out of the log's head (which may grow). */
export interface ReplayProgress {
  applied: number;
  total: number;
  /** What a rebuild is doing once the events are applied, e.g. `indexing deliveries`. */
  stage?: string;
}

export type ProgressListener = (progress: ReplayProgress) => void;

export interface ReplayOptions {
  /**
   * Threads a rebuild may keep busy (default: 2 where the machine has two cores or more). The
   * embedded engine builds half the log's streams on a second thread; 1 keeps it to one core.
   */
  threads?: number;
}

export interface ReplaySummary {
  /** Events read from the log and applied to the new read models. */
  events: number;
  /** Log position the new read models were switched over at. */
  position: number;
  /** Rows per table of the new read models. */
  rows: Record<string, number>;
  /** From the start of the rebuild (after the pre-flight checks) to the switch-over's commit. */
  rebuildMs: number;
  /** Removing the replaced tables, after the switch. */
  cleanupMs: number;
  /** Threads the rebuild ran on. */
  threads: number;
}

/** One row that differs between the live read model and a rebuild of it from the log. */
export interface Difference {
  table: string;
  /** The row's primary key. */
  key: string;
  /** `missing`: only the rebuild has it; `unexpected`: only the live read model has it. */
  kind: 'missing' | 'unexpected' | 'changed';
  /** For `changed`: each column (or JSON field of a document column) that differs. */
  fields: Array<{ field: string; live: unknown; rebuilt: unknown }>;
}

export interface VerifySummary {
  events: number;
  /** Position of the live read models compared (their checkpoint). */
  position: number;
  rows: Record<string, number>;
  differences: number;
}

/**
 * Operators' tools over the read models, through the CLI:
 * - `replay`: rebuilds every read model from position 0 of the log into fresh storage, beside
 *   the live one, then switches over at once. A service on the same storage keeps serving (from
 *   the old read models, then the new) and its writes made meanwhile are in the new ones.
 * - `verify`: rebuilds into scratch storage, up to the position the live read models are at,
 *   and compares them row by row. Changes nothing.
 */
export interface ReadModelReplay {
  replay(onProgress: ProgressListener, options?: ReplayOptions): Promise<ReplaySummary>;
  verify(
    onProgress: ProgressListener,
    onDifference: (d: Difference) => void,
  ): Promise<VerifySummary>;
}
