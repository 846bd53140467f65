import { Logger } from '@nestjs/common';
import { nowIso } from '../common/clock';
import {
  WEBHOOK_EVENT_STREAM_PREFIX,
  WebhookEvent,
  WebhookEventCreated,
  decideArchive,
  evolve,
} from '../delivery/webhook-event';
import { executeOnStream } from '../eventstore/command-execution';
import { EventStore, RecordedEvent } from '../eventstore/event-store';
import { CheckpointStore } from '../projections/checkpoints';

export interface RetentionPorts {
  store: EventStore;
  checkpoints: CheckpointStore;
}

/** Where the job has got to in the log: every creation up to it is archived. */
export const RETENTION_CHECKPOINT = 'retention';
/** Creations read from the log at a time. */
const BATCH = 500;
/** Archivals appended at once (they share group commits). */
const CONCURRENCY = 32;

const decider = { evolve, initialState: null as WebhookEvent | null };

/**
 * Retention: archives the payload of every webhook event created longer ago than the retention
 * period, by appending `WebhookEventArchived` to its stream (the read side then shows `payload`
 * null and `is_archived` true, and redelivery is refused). It follows the log's creations in
 * order from a checkpoint, so each run reads only what is new since the last one, on any engine;
 * archiving twice (two replicas) appends nothing the second time.
 */
export class RetentionJob {
  private readonly logger = new Logger('Retention');
  private running: Promise<number> | undefined;

  constructor(
    private readonly ports: RetentionPorts,
    private readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Archives what is due; a call during a run shares it. Resolves with the events archived. */
  run(): Promise<number> {
    this.running ??= this.archiveDue().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The run under way, if any (shutdown waits for it). */
  get current(): Promise<number> | undefined {
    return this.running;
  }

  private async archiveDue(): Promise<number> {
    const cutoff = this.clock() - this.retentionMs;
    let position = await this.ports.checkpoints.load(RETENTION_CHECKPOINT);
    let archived = 0;
    for (;;) {
      const batch = await this.ports.store.readAll({
        fromPosition: position,
        maxCount: BATCH,
        filter: {
          streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX],
          eventTypes: ['WebhookEventCreated'],
        },
      });
      // The log is in creation order: past the first creation still within the period, so is
      // every later one.
      const due = takeWhileCreatedBefore(batch, cutoff);
      for (let i = 0; i < due.length; i += CONCURRENCY) {
        const appended = await Promise.all(
          due.slice(i, i + CONCURRENCY).map(async (event) => {
            const execution = await executeOnStream(
              this.ports.store,
              event.streamId,
              decider,
              (state) => decideArchive(state, nowIso()),
            );
            return execution.events.length;
          }),
        );
        archived += appended.reduce((sum, n) => sum + n, 0);
      }
      if (due.length > 0) {
        position = due[due.length - 1].position;
        await this.ports.checkpoints.save(RETENTION_CHECKPOINT, position);
      }
      if (due.length < batch.length || batch.length < BATCH) break;
    }
    if (archived > 0) this.logger.log(`Archived the payloads of ${archived} webhook event(s)`);
    return archived;
  }
}

function takeWhileCreatedBefore(events: readonly RecordedEvent[], cutoff: number): RecordedEvent[] {
  const due: RecordedEvent[] = [];
  for (const event of events) {
    const { createdAt } = (event as unknown as WebhookEventCreated).data;
    if (Date.parse(createdAt) >= cutoff) break;
    due.push(event);
  }
  return due;
}
