import { Logger } from '@nestjs/common';
import { nowIso } from '../common/clock';
import { DeliveriesRepository } from '../deliveries/deliveries.repository';
import {
  DisableReason,
  ENDPOINT_STREAM_PREFIX,
  Endpoint,
  EndpointEvent,
  decide as decideEndpoint,
  endpointStream,
  evolve as evolveEndpoint,
} from '../endpoints/endpoint';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { executeOnStream } from '../eventstore/command-execution';
import {
  EventStore,
  RecordedEvent,
  Subscription,
  WrongExpectedRevisionError,
} from '../eventstore/event-store';
import { CheckpointStore } from '../projections/checkpoints';
import { ProjectionRunner } from '../projections/projection-runner';
import { PUBLICATION_STREAM_PREFIX, WebhookPublished } from '../publishing/publication';
import { DueWorkQueue } from './due-work';
import { webhookEventCreated } from './fan-out';
import {
  WEBHOOK_EVENT_STREAM_PREFIX,
  WebhookEvent,
  WebhookEventEvent,
  decideSkip,
  evolve as evolveWebhookEvent,
  webhookEventStream,
} from './webhook-event';

const CHECKPOINT = 'delivery_saga';
/** Checkpoint writes are batched: after a crash the saga repeats at most this much, idempotently. */
const CHECKPOINT_INTERVAL_MS = 200;
const RESTART_DELAY_MS = 1000;
/** Events handed over but not yet settled (fan-outs not yet committed) before the saga waits. */
const MAX_UNSETTLED = 1000;

export interface SagaPorts {
  store: EventStore;
  projections: ProjectionRunner;
  checkpoints: CheckpointStore;
  endpoints: EndpointsRepository;
  deliveries: DeliveriesRepository;
  dueWork: DueWorkQueue;
}

const endpointDecider = { evolve: evolveEndpoint, initialState: null as Endpoint | null };
const webhookEventDecider = {
  evolve: evolveWebhookEvent,
  initialState: null as WebhookEvent | null,
};

/**
 * The delivery process manager: a checkpointed consumer of the log that turns facts into
 * further facts. Every effect is an idempotent append (a creation expects `no_stream`, a skip
 * or disable decides on current state), so handling an event twice after a crash is harmless.
 *
 * - WebhookPublished → one WebhookEvent per target, body rendered once for its format;
 * - endpoint disabled or deleted → its pending events are skipped;
 * - 410 Gone → the endpoint is disabled;
 * - a failed event → the endpoint is disabled when its last N completed events all failed.
 */
export class DeliverySaga {
  private readonly logger = new Logger('DeliverySaga');
  private subscription: Subscription | undefined;
  private handled = 0;
  private saved = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  private waiters: Array<{ position: number; resolve(): void }> = [];
  private stopped = true;
  /** Bumped by each (re)subscription: callbacks of an abandoned subscription then do nothing. */
  private generation = 0;
  /** Resolves once the appends of every fan-out started so far have been issued, in log order. */
  private issued: Promise<void> = Promise.resolve();
  /** Resolves once every event handed over so far is handled and its effects are committed. */
  private settled: Promise<void> = Promise.resolve();
  private unsettled = 0;

  constructor(
    private readonly ports: SagaPorts,
    private readonly failureThreshold: number,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.handled = this.saved = await this.ports.checkpoints.load(CHECKPOINT);
    this.subscribe();
  }

  private subscribe(): void {
    const generation = ++this.generation;
    this.issued = this.settled = Promise.resolve();
    this.unsettled = 0;
    const subscription = this.ports.store.subscribeToAll(
      {
        fromPosition: this.handled,
        filter: {
          streamPrefixes: [
            PUBLICATION_STREAM_PREFIX,
            ENDPOINT_STREAM_PREFIX,
            WEBHOOK_EVENT_STREAM_PREFIX,
          ],
          eventTypes: [
            'WebhookPublished',
            'WebhookEndpointDisabled',
            'WebhookEndpointDeleted',
            'DeliveryAttempted',
            'WebhookEventFailed',
          ],
        },
      },
      (event) => this.handle(event, generation),
    );
    this.subscription = subscription;
    subscription.done.catch((error: unknown) => this.restart(generation, error));
  }

  /** After a failure: abandon the subscription and resume from the last settled position. */
  private restart(generation: number, error: unknown): void {
    if (this.stopped || generation !== this.generation) return;
    this.generation += 1;
    this.logger.error(`Saga stopped at position ${this.handled}, restarting: ${String(error)}`);
    void this.subscription
      ?.stop()
      .then(() => setTimeout(() => !this.stopped && this.subscribe(), RESTART_DELAY_MS).unref());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    await this.settled.catch(() => undefined);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.saveCheckpoint();
  }

  /** Resolves once the saga has handled the log up to `position` and its effects are projected. */
  async waitFor(position: number): Promise<void> {
    if (this.handled < position) {
      await new Promise<void>((resolve) => this.waiters.push({ position, resolve }));
    }
    await this.ports.projections.waitFor(await this.ports.store.headPosition());
  }

  private async handle(event: RecordedEvent, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    if (event.type === 'WebhookPublished') {
      // Not awaited: the publications already in the log are fanned out together, so their
      // appends share one group commit (one fsync) rather than one each. They are issued in log
      // order, and the position only counts as handled once they are committed.
      const fanOut = this.fanOut(event as unknown as RecordedEvent & WebhookPublished, this.issued);
      this.issued = fanOut.issued;
      this.settle(event.position, generation, fanOut.committed);
      if (this.unsettled >= MAX_UNSETTLED) await this.settled;
      return;
    }
    if (event.type === 'DeliveryAttempted' && event.data.httpCode !== 410) {
      this.settle(event.position, generation, Promise.resolve());
      return;
    }
    // Any other effect comes after the effects of every earlier event.
    await this.settled;
    switch (event.type) {
      case 'WebhookEndpointDisabled':
      case 'WebhookEndpointDeleted':
        await this.skipPending(String(event.data.endpointId), event.position, event.type);
        break;
      case 'DeliveryAttempted':
        if (event.data.httpCode === 410) {
          await this.disable(String(event.data.endpointId), 'gone', event.position);
        }
        break;
      case 'WebhookEventFailed':
        await this.checkHealth(event);
        break;
    }
    this.settle(event.position, generation, Promise.resolve());
  }

  /** `position` counts as handled once `effect` and everything handed over before it settled. */
  private settle(position: number, generation: number, effect: Promise<void>): void {
    effect.catch(() => undefined); // adopted by the chain below; not an unhandled rejection
    this.unsettled += 1;
    this.settled = this.settled
      .then(() => effect)
      .then(() => {
        this.unsettled -= 1;
        if (generation !== this.generation) return;
        this.handled = Math.max(this.handled, position);
        this.waiters = this.waiters.filter((w) =>
          w.position <= this.handled ? (w.resolve(), false) : true,
        );
        this.scheduleCheckpoint();
      });
    this.settled.catch((error: unknown) => this.restart(generation, error));
  }

  /**
   * Renders one WebhookEvent per target not created yet and appends them once `after` resolves
   * (the previous fan-out's appends are issued), so they reach the store in log order. A
   * publication without an Idempotency-Key arrives with its WebhookEvents already appended by the
   * publish command (in the same transaction on the embedded engine): nothing is left to do.
   */
  private fanOut(
    event: RecordedEvent & WebhookPublished,
    after: Promise<void>,
  ): { issued: Promise<void>; committed: Promise<void> } {
    const publication = event.data;
    const pending = Promise.all(
      publication.targets.map(async (target) =>
        (await this.ports.deliveries.hasEvent(target.webhookEventId))
          ? null
          : { target, endpoint: await this.ports.endpoints.findById(target.endpointId) },
      ),
    );
    // Issued together so the store commits them in one group, in publish order.
    const appends = Promise.all([pending, after]).then(([targets]) =>
      targets.flatMap((missing) =>
        missing
          ? [
              this.ports.store
                .append(
                  webhookEventStream(missing.target.webhookEventId),
                  [
                    webhookEventCreated(
                      publication,
                      missing.target,
                      missing.endpoint?.format ?? 'raw',
                    ),
                  ],
                  'no_stream',
                )
                .catch(ignoreConflict),
            ]
          : [],
      ),
    );
    return {
      issued: appends.then(
        () => undefined,
        () => undefined,
      ),
      committed: appends.then((pending) => Promise.all(pending)).then(() => undefined),
    };
  }

  /**
   * Skips the events that were pending when the endpoint was disabled or deleted. Events
   * scheduled after that (it was enabled again) are left alone: after a crash the saga handles
   * an old disable again, which must not skip what was published since.
   */
  private async skipPending(endpointId: string, position: number, cause: string): Promise<void> {
    await this.ports.projections.waitFor(position);
    const pending = await this.ports.dueWork.pendingFor(endpointId);
    const reason = cause === 'WebhookEndpointDeleted' ? 'endpoint_deleted' : 'endpoint_disabled';
    await Promise.all(
      pending.map(async (id) => {
        const stream = webhookEventStream(id);
        const scheduled = (await this.ports.store.readStream(stream)).filter(
          (e) => e.type === 'WebhookEventCreated' || e.type === 'WebhookEventRedeliveryRequested',
        );
        if ((scheduled.at(-1)?.position ?? 0) > position) return;
        await executeOnStream<WebhookEvent | null, WebhookEventEvent>(
          this.ports.store,
          stream,
          webhookEventDecider,
          (state) => decideSkip(state, reason, nowIso()),
        );
      }),
    );
  }

  private async checkHealth(event: RecordedEvent): Promise<void> {
    await this.ports.projections.waitFor(event.position);
    const created = await this.ports.deliveries.findEvent(String(event.data.webhookEventId));
    if (!created) return;
    const endpoint = await this.ports.endpoints.findById(created.endpointId);
    if (!endpoint?.enabled) return;
    const outcomes = await this.ports.deliveries.recentOutcomes(
      created.endpointId,
      this.failureThreshold,
      endpoint.enabledAt,
    );
    if (outcomes.length >= this.failureThreshold && outcomes.every((ok) => !ok)) {
      await this.disable(created.endpointId, 'failing', event.position);
    }
  }

  /**
   * Disables the endpoint because of the fact at `cause`, unless a user enabled it after that
   * fact: handling it again after a crash must not undo the user's decision.
   */
  private async disable(
    endpointId: string,
    reason: Exclude<DisableReason, 'requested'>,
    cause: number,
  ): Promise<void> {
    const history = await this.ports.store.readStream(endpointStream(endpointId));
    if (history.some((e) => e.type === 'WebhookEndpointEnabled' && e.position > cause)) return;
    const result = await executeOnStream<Endpoint | null, EndpointEvent>(
      this.ports.store,
      endpointStream(endpointId),
      endpointDecider,
      (state) =>
        state && !state.deletedAt
          ? decideEndpoint(state, { type: 'DisableEndpoint', reason, now: nowIso() })
          : [],
    );
    if (result.events.length > 0) this.logger.warn(`Disabled endpoint ${endpointId}: ${reason}`);
  }

  private scheduleCheckpoint(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.saveCheckpoint();
    }, CHECKPOINT_INTERVAL_MS);
    this.saveTimer.unref();
  }

  private async saveCheckpoint(): Promise<void> {
    if (this.handled === this.saved) return;
    const position = this.handled;
    await this.ports.checkpoints.save(CHECKPOINT, position);
    this.saved = position;
  }
}

function ignoreConflict(error: unknown): void {
  if (!(error instanceof WrongExpectedRevisionError)) throw error;
}
