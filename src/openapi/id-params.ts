import { ApiParam } from '@nestjs/swagger';

/** The `{id}` path parameter of the routes under /endpoints/{id}. */
export const EndpointIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The webhook endpoint ID.' });

/** The `{id}` path parameter of the routes under /events/{id}. */
export const WebhookEventIdParam = () =>
  ApiParam({ name: 'id', format: 'uuid', description: 'The webhook event ID.' });
