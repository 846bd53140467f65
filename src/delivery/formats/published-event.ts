import { WebhookEventType } from '../../common/webhook-event-types';

/** An event as a platform published it, before it is rendered for an endpoint's format. */
export interface PublishedEvent {
  type: WebhookEventType;
  /** ISO 8601 UTC with a trailing Z. */
  timestamp: string;
  workspaceId: string;
  /** Arbitrary JSON object from the publisher: may be huge or deeply nested. */
  data: Record<string, unknown>;
}
