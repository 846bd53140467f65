import { WebhookEvent } from '../delivery/webhook-event';
import { Delivery } from './deliveries.repository';
import { WebhookDelivery, WebhookEventSchema } from './dto/delivery.dto';

export function presentWebhookEvent(event: WebhookEvent): WebhookEventSchema {
  return {
    id: event.id,
    created_at: event.createdAt,
    modified_at: event.modifiedAt,
    webhook_endpoint_id: event.endpointId,
    type: event.eventType,
    payload: event.payload,
    last_http_code: event.lastHttpCode,
    succeeded: event.succeeded,
    skipped: event.skipped,
    is_archived: event.isArchived,
  };
}

/** An attempt is recorded once and never changes, so `modified_at` is always null. */
export function presentDelivery(delivery: Delivery): WebhookDelivery {
  return {
    id: delivery.id,
    created_at: delivery.createdAt,
    modified_at: null,
    webhook_endpoint_id: delivery.endpointId,
    succeeded: delivery.succeeded,
    http_code: delivery.httpCode,
    response: delivery.response,
    duration_ms: delivery.durationMs,
    webhook_event: presentWebhookEvent(delivery.webhookEvent),
  };
}
