/** Due work: the next attempt of each pending WebhookEvent, built by a projection of the log. */
export interface DueWork {
  webhookEventId: string;
  endpointId: string;
  /** Attempts already made in the current retry budget (0 before the first). */
  attemptsMade: number;
}

export interface DueWorkQueue {
  /**
   * Leases up to `limit` items due at `now`, oldest due first and, for equal times, in publish
   * order. A leased item is not handed out again until the lease ends, so a crash between send
   * and record means the item is sent again (at-least-once), never lost.
   */
  claim(now: number, limit: number, leaseMs: number): Promise<DueWork[]>;
  /** When the next unleased item becomes due, or null when nothing is pending. */
  nextDueAt(): Promise<number | null>;
  /** Pending WebhookEvent ids of an endpoint. */
  pendingFor(endpointId: string): Promise<string[]>;
  /** Ends every lease (a single-process engine starting up: no other dispatcher holds them). */
  releaseLeases(): Promise<void>;
  depth(): Promise<number>;
}
