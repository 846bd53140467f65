import { Logger } from '@nestjs/common';
import { nowIso } from '../common/clock';
import { uuidv7 } from '../common/ids';
import { settledWithin } from '../common/promises';
import { DeliveryConfig } from '../config/config';
import { DeliveriesRepository } from '../deliveries/deliveries.repository';
import { Endpoint } from '../endpoints/endpoint';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { appendToExisting, executeOnStream } from '../eventstore/command-execution';
import { EventStore } from '../eventstore/event-store';
import { ProjectionRunner } from '../projections/projection-runner';
import { DueWork, DueWorkQueue } from './due-work';
import { HttpSender, SendOutcome } from './http-sender';
import { retryDelay } from './retry-policy';
import { signatureHeaders } from './signing';
import {
  AttemptOutcome,
  WebhookEvent,
  WebhookEventEvent,
  decideAttempt,
  decideSkip,
  evolve,
  isSuccess,
  webhookEventStream,
} from './webhook-event';

export interface DispatcherPorts {
  store: EventStore;
  projections: ProjectionRunner;
  endpoints: EndpointsRepository;
  deliveries: DeliveriesRepository;
  dueWork: DueWorkQueue;
  sender: HttpSender;
  /** Told of every attempt sent (metrics). */
  observer?: AttemptObserver;
}

/** How an attempt went, in the few words metrics count it by. */
export type AttemptResult = 'succeeded' | 'failed' | 'unreachable';

/**
 * Watches attempts as they are sent. It runs on the delivery path, once per attempt: it must be
 * synchronous and cheap (no I/O, no promise), and never throw.
 */
export interface AttemptObserver {
  onAttempt(result: AttemptResult, durationMs: number): void;
}

/** How long a claimed attempt stays ours: longer than any send can take. */
const LEASE_MARGIN_MS = 20_000;
/** The longest the dispatcher sleeps when nothing is due and nothing is appended. */
const IDLE_POLL_MS = 1000;

const decider = { evolve, initialState: null as WebhookEvent | null };

/**
 * Claims due attempts with a lease, sends them signed, and records each attempt as an event on
 * the WebhookEvent's stream (the due-work projection then reschedules or clears it). Claims are
 * taken oldest-due first and sent in that order, so first attempts to an endpoint go out in
 * publish order. A crash between send and record leaves the lease to expire: the attempt is sent
 * again with the same `webhook-id` (at-least-once).
 */
export class Dispatcher {
  private readonly logger = new Logger('Dispatcher');
  private inFlight = 0;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** The loop sleeps because every slot is taken: a send that ends must wake it. */
  private waitingForSlot = false;
  private appendWait: { head: number; promise: Promise<void> } | undefined;
  private readonly sending = new Set<Promise<void>>();
  /** Per endpoint, the latest first attempt launched: the next one goes out after it. */
  private readonly lastFirstAttempt = new Map<string, Promise<void>>();

  constructor(
    private readonly ports: DispatcherPorts,
    private readonly config: DeliveryConfig,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.sending]);
  }

  private async run(): Promise<void> {
    // A first attempt may wait up to one timeout for the one before it (inPublishOrder).
    const leaseMs = 2 * this.config.timeoutMs + LEASE_MARGIN_MS;
    while (!this.stopped) {
      try {
        const head = await this.ports.store.headPosition();
        await this.ports.projections.waitFor(head);
        const free = this.config.maxInFlight - this.inFlight;
        const claimed = free > 0 ? await this.ports.dueWork.claim(Date.now(), free, leaseMs) : [];
        for (const work of claimed) this.launch(work);
        if (claimed.length > 0 && claimed.length === free) continue;
        // With a slot free, nothing more was due: a send that ends changes nothing (its record
        // is an append, which wakes the loop anyway). With none free, only a send that ends
        // does: the loop waits for that, not for a due time that has passed already.
        this.waitingForSlot = free <= 0;
        await this.sleep(head);
      } catch (error) {
        this.logger.error(`Dispatch failed: ${String(error)}`);
        await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
      }
    }
  }

  /** Until something is appended, a slot frees up, or the next item falls due. */
  private async sleep(head: number): Promise<void> {
    const next = this.waitingForSlot ? null : await this.ports.dueWork.nextDueAt();
    const delay = Math.max(
      0,
      Math.min(IDLE_POLL_MS, next === null ? IDLE_POLL_MS : next - Date.now()),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.appendAfter(head),
      new Promise<void>((resolve) => {
        // Deferred to the check phase: the sends finishing in one I/O phase free their slots
        // together and are refilled by one claim, not one claim each.
        this.wake = () => setImmediate(resolve);
        timer = setTimeout(resolve, delay);
        // A send that ended before there was a wake to call freed a slot no one was told about.
        if (this.waitingForSlot && this.inFlight < this.config.maxInFlight) this.wake();
      }),
    ]);
    clearTimeout(timer);
    this.wake = undefined;
  }

  /**
   * Resolves once the log moves past `head`. A wait that loses the race in `sleep` stays
   * registered and serves the next sleep at the same head, so there is only ever one, and
   * none is cancelled and re-registered on every wake-up (the store releases the last one
   * when it closes).
   */
  private appendAfter(head: number): Promise<void> {
    if (this.appendWait?.head !== head) {
      const promise = this.ports.store.waitForAppend(head);
      const wait = { head, promise };
      this.appendWait = wait;
      void promise.then(() => {
        if (this.appendWait === wait) this.appendWait = undefined;
      });
    }
    return this.appendWait!.promise;
  }

  private launch(work: DueWork): void {
    this.inFlight += 1;
    const sending = this.inPublishOrder(work)
      .catch((error: unknown) =>
        this.logger.error(`Delivery of ${work.webhookEventId} failed: ${String(error)}`),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.sending.delete(sending);
        if (this.waitingForSlot) this.wake?.();
      });
    this.sending.add(sending);
  }

  /**
   * First attempts to one endpoint go out in publish order (claims come oldest first): each one
   * starts once the previous one can no longer be overtaken (written to an open connection, or
   * finished). Sends still overlap; without this a request waiting for a new connection is
   * overtaken by later ones on pooled connections. Retries are not ordered. The wait is bounded
   * by one send timeout, so a hanging receiver delays the queue behind it, never stalls it.
   */
  private inPublishOrder(work: DueWork): Promise<void> {
    if (work.attemptsMade > 0) return this.deliver(work);
    const last = this.lastFirstAttempt.get(work.endpointId);
    const previous = last && settledWithin(last, this.config.timeoutMs);
    let inOrder!: () => void;
    const sent = new Promise<void>((resolve) => (inOrder = resolve));
    this.lastFirstAttempt.set(work.endpointId, sent);
    void sent.then(() => {
      if (this.lastFirstAttempt.get(work.endpointId) === sent) {
        this.lastFirstAttempt.delete(work.endpointId);
      }
    });
    const deliver = () => this.deliver(work, inOrder);
    return (previous ? previous.then(deliver) : deliver()).finally(inOrder);
  }

  private async deliver(work: DueWork, onSentInOrder?: () => void): Promise<void> {
    const [endpoint, event] = await Promise.all([
      this.ports.endpoints.findById(work.endpointId),
      this.ports.deliveries.findEvent(work.webhookEventId),
    ]);
    if (!event || event.payload === null) return;
    if (!endpoint || endpoint.deletedAt || !endpoint.enabled) {
      const reason = endpoint?.deletedAt || !endpoint ? 'endpoint_deleted' : 'endpoint_disabled';
      await this.record(work, (state) => decideSkip(state, reason, nowIso()));
      return;
    }
    const outcome = await this.ports.sender.send({
      url: endpoint.url,
      onSentInOrder,
      body: event.payload,
      headers: signatureHeaders({
        webhookId: event.id,
        timestamp: new Date(),
        body: event.payload,
        secrets: signingSecrets(endpoint, Date.now()),
      }),
    });
    const attempt = toAttemptOutcome(outcome);
    this.ports.observer?.onAttempt(attemptResult(attempt), attempt.durationMs);
    const retryAfterMs = outcome.kind === 'response' ? outcome.retryAfterMs : null;
    const delay = attempt.permanent
      ? null
      : retryDelay({
          attemptsMade: work.attemptsMade + 1,
          schedule: this.config.retrySchedule,
          random: this.random,
          retryAfterMs,
        });
    // An attempt is a fact whatever happened to the event meanwhile, and deciding it needs only
    // the event's identity: it is appended without reading the stream back.
    await appendToExisting(
      this.ports.store,
      webhookEventStream(work.webhookEventId),
      decideAttempt(event, {
        type: 'RecordAttempt',
        deliveryId: uuidv7(),
        outcome: attempt,
        retryDelayMs: delay,
        now: nowIso(),
      }),
    );
  }

  private async record(
    work: DueWork,
    decide: (state: WebhookEvent | null) => WebhookEventEvent[],
  ): Promise<void> {
    await executeOnStream(
      this.ports.store,
      webhookEventStream(work.webhookEventId),
      decider,
      decide,
    );
  }
}

/** The current secret, plus the previous one while its rotation grace period lasts. */
export function signingSecrets(endpoint: Endpoint, now: number): string[] {
  const previousValid =
    endpoint.previousSecret !== null &&
    endpoint.previousSecretExpiresAt !== null &&
    Date.parse(endpoint.previousSecretExpiresAt) > now;
  return previousValid ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

/** A 2xx answer succeeded, any other answer failed; no answer at all: unreachable. */
export function attemptResult(outcome: AttemptOutcome): AttemptResult {
  if (outcome.httpCode === null) return 'unreachable';
  return isSuccess(outcome.httpCode) ? 'succeeded' : 'failed';
}

/** 410 Gone is final: the receiver says the endpoint no longer exists. */
export function toAttemptOutcome(outcome: SendOutcome): AttemptOutcome {
  if (outcome.kind === 'response') {
    return {
      httpCode: outcome.httpCode,
      response: outcome.response,
      durationMs: outcome.durationMs,
      permanent: outcome.httpCode === 410,
    };
  }
  return {
    httpCode: null,
    response: outcome.error,
    durationMs: outcome.durationMs,
    permanent: outcome.permanent,
  };
}
