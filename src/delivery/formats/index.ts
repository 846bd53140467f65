/**
 * The bodies sent to endpoints, one renderer per endpoint format. Each is rendered once, when the
 * WebhookEvent is created, and stored: retries and redeliveries send the same bytes.
 */
import { EndpointFormat } from '../../endpoints/endpoint';
import { renderDiscord } from './discord';
import { PublishedEvent } from './published-event';
import { renderRaw } from './raw';
import { renderSlack } from './slack';

export { DISCORD_LIMITS } from './discord';
export { SLACK_LIMITS } from './slack';
export { eventTitle } from './titles';
export type { PublishedEvent } from './published-event';

const RENDERERS: Record<EndpointFormat, (event: PublishedEvent) => string> = {
  raw: renderRaw,
  discord: renderDiscord,
  slack: renderSlack,
};

/** The exact body (a JSON string) sent to an endpoint of this format. */
export function renderPayload(format: EndpointFormat, event: PublishedEvent): string {
  return RENDERERS[format](event);
}
