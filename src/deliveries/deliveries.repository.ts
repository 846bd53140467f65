import { PageRequest } from '../common/pagination';
import { WebhookEventType } from '../common/webhook-event-types';
import { WebhookEvent } from '../delivery/webhook-event';

/** One HTTP attempt as the read side shows it, with the event it delivered. */
export interface Delivery {
  id: string;
  createdAt: string;
  endpointId: string;
  succeeded: boolean;
  httpCode: number | null;
  response: string | null;
  durationMs: number;
  webhookEvent: WebhookEvent;
}

export type HttpCodeClass = '2xx' | '3xx' | '4xx' | '5xx';
export const HTTP_CODE_CLASSES: readonly HttpCodeClass[] = ['2xx', '3xx', '4xx', '5xx'];

/** Every filter is optional; all of them combine with AND. */
export interface DeliveryListQuery {
  /** Workspaces the caller may see; an empty list matches nothing. */
  workspaceIds: readonly string[];
  endpointIds?: readonly string[];
  /** Exclusive bounds on the attempt's `createdAt`, as epoch milliseconds. */
  after?: number;
  before?: number;
  succeeded?: boolean;
  /** Case-insensitive substring of the delivery id, the event id or the HTTP code; no wildcards. */
  text?: string;
  httpCodeClass?: HttpCodeClass;
  eventTypes?: readonly WebhookEventType[];
  page: PageRequest;
}

export interface WebhookEventListQuery {
  workspaceIds: readonly string[];
  endpointIds?: readonly string[];
  eventTypes?: readonly WebhookEventType[];
  /** `null` matches pending events. */
  succeeded?: boolean | null;
  skipped?: boolean;
  page: PageRequest;
}

export interface DeliveriesRepository {
  listEvents(query: WebhookEventListQuery): Promise<{ items: WebhookEvent[]; total: number }>;
  list(query: DeliveryListQuery): Promise<{ items: Delivery[]; total: number }>;
  findEvent(id: string): Promise<WebhookEvent | null>;
  /** Whether the webhook event exists: cheaper than `findEvent` (no document is read). */
  hasEvent(id: string): Promise<boolean>;
  /** Outcomes of the endpoint's most recently completed events after `since`, newest first. */
  recentOutcomes(endpointId: string, count: number, since: string): Promise<boolean[]>;
}
