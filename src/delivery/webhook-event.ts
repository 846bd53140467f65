/**
 * The WebhookEvent aggregate: one published event addressed to one endpoint, and every attempt
 * to deliver it. Pure events, evolve and decisions; the delivery engine and the read side build
 * on them.
 */
import { WebhookEventType } from '../common/webhook-event-types';

export const webhookEventStream = (id: string) => `webhook_event-${id}`;
export const WEBHOOK_EVENT_STREAM_PREFIX = 'webhook_event-';

export interface WebhookEventCreated {
  type: 'WebhookEventCreated';
  data: {
    webhookEventId: string;
    endpointId: string;
    workspaceId: string;
    publicationId: string;
    eventType: WebhookEventType;
    /** The exact body sent, rendered once: every retry and redelivery sends these bytes. */
    payload: string;
    createdAt: string;
  };
}

/** One HTTP attempt. `httpCode` is null when the endpoint was unreachable. */
export interface DeliveryAttempted {
  type: 'DeliveryAttempted';
  data: {
    webhookEventId: string;
    deliveryId: string;
    endpointId: string;
    succeeded: boolean;
    httpCode: number | null;
    response: string | null;
    durationMs: number;
    attemptedAt: string;
    /** When the next attempt is due; null when this one ends the budget (success or final failure). */
    retryAt: string | null;
  };
}

/** The retry budget ran out without a success. */
export interface WebhookEventFailed {
  type: 'WebhookEventFailed';
  data: { webhookEventId: string; failedAt: string };
}

/** Not sent: the endpoint was disabled or deleted. */
export interface WebhookEventSkipped {
  type: 'WebhookEventSkipped';
  data: { webhookEventId: string; reason: string; skippedAt: string };
}

/** A new attempt of the same event (same id and body) with a fresh retry budget. */
export interface WebhookEventRedeliveryRequested {
  type: 'WebhookEventRedeliveryRequested';
  data: { webhookEventId: string; endpointId: string; requestedAt: string };
}

/** Retention: the payload is dropped from the read side; redelivery is no longer possible. */
export interface WebhookEventArchived {
  type: 'WebhookEventArchived';
  data: { webhookEventId: string; archivedAt: string };
}

export type WebhookEventEvent =
  | WebhookEventCreated
  | DeliveryAttempted
  | WebhookEventFailed
  | WebhookEventSkipped
  | WebhookEventRedeliveryRequested
  | WebhookEventArchived;

export interface WebhookEvent {
  id: string;
  endpointId: string;
  workspaceId: string;
  eventType: WebhookEventType;
  payload: string | null;
  createdAt: string;
  modifiedAt: string | null;
  lastHttpCode: number | null;
  /** True once any attempt succeeded; false when the budget ran out; null while pending. */
  succeeded: boolean | null;
  skipped: boolean;
  isArchived: boolean;
}

export function evolve(state: WebhookEvent | null, event: WebhookEventEvent): WebhookEvent | null {
  if (event.type === 'WebhookEventCreated') {
    const d = event.data;
    return {
      id: d.webhookEventId,
      endpointId: d.endpointId,
      workspaceId: d.workspaceId,
      eventType: d.eventType,
      payload: d.payload,
      createdAt: d.createdAt,
      modifiedAt: null,
      lastHttpCode: null,
      succeeded: null,
      skipped: false,
      isArchived: false,
    };
  }
  if (!state) return state;
  switch (event.type) {
    case 'DeliveryAttempted':
      return {
        ...state,
        lastHttpCode: event.data.httpCode,
        // A success is final: a later failed redelivery does not rewrite it.
        succeeded: event.data.succeeded || state.succeeded === true ? true : state.succeeded,
        modifiedAt: event.data.attemptedAt,
      };
    case 'WebhookEventFailed':
      return {
        ...state,
        succeeded: state.succeeded === true ? true : false,
        modifiedAt: event.data.failedAt,
      };
    case 'WebhookEventSkipped':
      return { ...state, skipped: true, modifiedAt: event.data.skippedAt };
    case 'WebhookEventRedeliveryRequested':
      return { ...state, skipped: false, modifiedAt: event.data.requestedAt };
    case 'WebhookEventArchived':
      return { ...state, payload: null, isArchived: true, modifiedAt: event.data.archivedAt };
  }
}

export class WebhookEventNotFoundError extends Error {
  constructor() {
    super('Webhook event not found');
  }
}

export class WebhookEventArchivedError extends Error {
  constructor() {
    super(
      'The webhook event is archived: its payload is no longer kept, so it cannot be redelivered',
    );
  }
}

export interface RedeliverWebhookEvent {
  type: 'RedeliverWebhookEvent';
  /** Whether the endpoint can receive: a disabled or deleted endpoint makes it skipped. */
  endpointEnabled: boolean;
  now: string;
}

export function decideRedeliver(
  state: WebhookEvent | null,
  command: RedeliverWebhookEvent,
): WebhookEventEvent[] {
  if (!state) throw new WebhookEventNotFoundError();
  if (state.isArchived) throw new WebhookEventArchivedError();
  const webhookEventId = state.id;
  if (!command.endpointEnabled) {
    return [
      {
        type: 'WebhookEventSkipped',
        data: { webhookEventId, reason: 'endpoint_disabled', skippedAt: command.now },
      },
    ];
  }
  return [
    {
      type: 'WebhookEventRedeliveryRequested',
      data: { webhookEventId, endpointId: state.endpointId, requestedAt: command.now },
    },
  ];
}

/** What the sender observed; `permanent` failures (refused address, 410 Gone) are not retried. */
export interface AttemptOutcome {
  httpCode: number | null;
  response: string | null;
  durationMs: number;
  permanent: boolean;
}

export interface RecordAttempt {
  type: 'RecordAttempt';
  deliveryId: string;
  outcome: AttemptOutcome;
  /** Delay before the next attempt from the retry policy; null when the budget is spent. */
  retryDelayMs: number | null;
  now: string;
}

export const isSuccess = (httpCode: number | null) =>
  httpCode !== null && httpCode >= 200 && httpCode < 300;

/** Success is 2xx only; a failure is retried while the budget lasts, else the event has failed. */
export function decideAttempt(
  state: WebhookEvent | null,
  command: RecordAttempt,
): WebhookEventEvent[] {
  if (!state) throw new WebhookEventNotFoundError();
  const { outcome, now } = command;
  const succeeded = isSuccess(outcome.httpCode);
  const retry = !succeeded && !outcome.permanent && command.retryDelayMs !== null;
  const attempted: DeliveryAttempted = {
    type: 'DeliveryAttempted',
    data: {
      webhookEventId: state.id,
      deliveryId: command.deliveryId,
      endpointId: state.endpointId,
      succeeded,
      httpCode: outcome.httpCode,
      response: outcome.response,
      durationMs: Math.round(outcome.durationMs),
      attemptedAt: now,
      retryAt: retry ? new Date(Date.parse(now) + command.retryDelayMs!).toISOString() : null,
    },
  };
  if (succeeded || retry) return [attempted];
  return [
    attempted,
    { type: 'WebhookEventFailed', data: { webhookEventId: state.id, failedAt: now } },
  ];
}

/** Pending work for a disabled or deleted endpoint is not sent: the event becomes skipped. */
export function decideSkip(
  state: WebhookEvent | null,
  reason: string,
  now: string,
): WebhookEventEvent[] {
  if (!state || state.isArchived || state.skipped) return [];
  return [
    { type: 'WebhookEventSkipped', data: { webhookEventId: state.id, reason, skippedAt: now } },
  ];
}

/** Retention: the payload is dropped once; an event already archived (or unknown) stays as is. */
export function decideArchive(state: WebhookEvent | null, now: string): WebhookEventEvent[] {
  if (!state || state.isArchived) return [];
  return [{ type: 'WebhookEventArchived', data: { webhookEventId: state.id, archivedAt: now } }];
}
