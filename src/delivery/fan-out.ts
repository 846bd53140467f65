import { EndpointFormat } from '../endpoints/endpoint';
import { PublicationTarget, WebhookPublished } from '../publishing/publication';
import { renderPayload } from './formats';
import { WebhookEventCreated } from './webhook-event';

/**
 * The WebhookEvent a publication creates for one of its targets, with the body rendered once
 * for the endpoint's format. Pure: the publish command and the delivery saga both build it, and
 * whichever appends it second finds the stream already there.
 */
export function webhookEventCreated(
  publication: WebhookPublished['data'],
  target: PublicationTarget,
  format: EndpointFormat,
): WebhookEventCreated {
  const { publicationId, workspaceId, eventType, payloadData, timestamp } = publication;
  return {
    type: 'WebhookEventCreated',
    data: {
      webhookEventId: target.webhookEventId,
      endpointId: target.endpointId,
      workspaceId,
      publicationId,
      eventType,
      payload: renderPayload(format, {
        type: eventType,
        timestamp,
        workspaceId,
        data: payloadData,
      }),
      createdAt: timestamp,
    },
  };
}
