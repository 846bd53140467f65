import { Principal } from '../auth/principal';
import { Endpoint } from './endpoint';
import { WebhookEndpoint } from './dto/endpoint.dto';

const SECRET_PREFIX = 'whsec_';

/** Read access must never leak signing keys: without `webhooks:write` the secret is masked. */
export function maskSecret(secret: string): string {
  const prefix = secret.startsWith(SECRET_PREFIX) ? SECRET_PREFIX : '';
  return `${prefix}…${secret.slice(-4)}`;
}

export function presentEndpoint(endpoint: Endpoint, principal: Principal): WebhookEndpoint {
  return {
    id: endpoint.id,
    created_at: endpoint.createdAt,
    modified_at: endpoint.modifiedAt,
    url: endpoint.url,
    format: endpoint.format,
    secret: principal.scopes.includes('webhooks:write')
      ? endpoint.secret
      : maskSecret(endpoint.secret),
    workspace_id: endpoint.workspaceId,
    events: endpoint.events,
    enabled: endpoint.enabled,
  };
}
