/** The port through which writers get read-your-writes and operators rebuild read models. */
export interface ProjectionRunner {
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every projection has applied the log up to `position`. */
  waitFor(position: number): Promise<void>;
  /** Applies everything appended so far, then resolves (used by the CLI before it exits). */
  catchUp(): Promise<void>;
  /** Clears every read model and its checkpoint, then re-applies the whole log. */
  rebuild(): Promise<void>;
  /** Checkpoint per projection, for operators and lag metrics. */
  checkpoints(): Promise<Record<string, number>>;
}
