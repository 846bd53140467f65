/**
 * Readiness: whether this replica should receive traffic. Plain functions over what the engine
 * probe found, so every verdict is unit-tested without an engine.
 */

/** One engine's answer: its value, or the (credential-free) message of why it did not answer. */
export type Answer<T> = { value: T } | { error: string };

export interface ReadinessInput {
  /** The event store's head position. */
  head: Answer<number>;
  /** The read models' checkpoint per projection. */
  checkpoints: Answer<Record<string, number>>;
  /** Names for the messages, e.g. "event store (SQLite)". */
  names: EngineNames;
  /** Most events a projection may lag behind the log's head. */
  maxLag: number;
}

export interface EngineNames {
  eventStore: string;
  readModels: string;
}

export interface Ready {
  status: 'ready';
  log_head: number;
  projection_lags: Record<string, number>;
  max_lag: number;
}

export interface NotReady {
  status: 'not_ready';
  reasons: string[];
}

export type Readiness = Ready | NotReady;

/** Events each projection still has to apply: the head minus its checkpoint (never negative). */
export function projectionLags(
  head: number,
  checkpoints: Record<string, number>,
): Record<string, number> {
  const lags: Record<string, number> = {};
  for (const [name, checkpoint] of Object.entries(checkpoints)) {
    lags[name] = Math.max(0, head - checkpoint);
  }
  return lags;
}

/** Ready when both engines answered and no projection lags by more than `maxLag` events. */
export function assessReadiness({ head, checkpoints, names, maxLag }: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if ('error' in head) reasons.push(`${names.eventStore} did not answer: ${head.error}`);
  if ('error' in checkpoints)
    reasons.push(`${names.readModels} did not answer: ${checkpoints.error}`);
  if ('error' in head || 'error' in checkpoints) return { status: 'not_ready', reasons };
  const lags = projectionLags(head.value, checkpoints.value);
  for (const [name, lag] of Object.entries(lags)) {
    if (lag > maxLag) {
      reasons.push(
        `projection ${name} lags ${lag} events behind the log (head ${head.value}, ` +
          `at most ${maxLag} allowed)`,
      );
    }
  }
  return reasons.length > 0
    ? { status: 'not_ready', reasons }
    : { status: 'ready', log_head: head.value, projection_lags: lags, max_lag: maxLag };
}

/** Which engines the configuration selected, as the readiness messages name them. */
export function engineNames(engines: { eventStoreDb: unknown; mongoDb: unknown }): EngineNames {
  return {
    eventStore: `event store (${engines.eventStoreDb !== null ? 'EventStoreDB' : 'SQLite'})`,
    readModels: `read models (${engines.mongoDb !== null ? 'MongoDB' : 'SQLite'})`,
  };
}
