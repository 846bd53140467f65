/**
 * Publishing: a platform's domain event, addressed once to every enabled endpoint of the
 * workspace subscribed to its type. Pure decisions; the delivery saga fans the publication out
 * into WebhookEvent streams.
 */
import { createHash } from 'node:crypto';
import { WebhookEventType } from '../common/webhook-event-types';
import { Endpoint } from '../endpoints/endpoint';

export const publicationStream = (id: string) => `webhook_publication-${id}`;
export const PUBLICATION_STREAM_PREFIX = 'webhook_publication-';

/** One stream per (workspace, key): its expected revision makes concurrent reuse safe. */
export const idempotencyStream = (workspaceId: string, key: string) =>
  `idempotency_key-${createHash('sha256').update(`${workspaceId}\n${key}`).digest('hex')}`;

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface PublicationTarget {
  endpointId: string;
  webhookEventId: string;
}

export interface WebhookPublished {
  type: 'WebhookPublished';
  data: {
    publicationId: string;
    workspaceId: string;
    eventType: WebhookEventType;
    payloadData: Record<string, unknown>;
    timestamp: string;
    /** In publish order of the endpoints' creation; each becomes one WebhookEvent. */
    targets: PublicationTarget[];
  };
}

export interface IdempotencyKeyClaimed {
  type: 'IdempotencyKeyClaimed';
  data: { publicationId: string; requestHash: string; claimedAt: string };
}

/** Enabled, live endpoints of the workspace subscribed to the type, oldest first. */
export function selectTargets(
  endpoints: readonly Endpoint[],
  workspaceId: string,
  eventType: WebhookEventType,
): Endpoint[] {
  return endpoints
    .filter(
      (e) =>
        e.workspaceId === workspaceId && e.enabled && !e.deletedAt && e.events.includes(eventType),
    )
    .sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1,
    );
}

export type IdempotencyDecision =
  { kind: 'new' } | { kind: 'replay'; publicationId: string } | { kind: 'mismatch' };

/** Same key within the window: the same publication, or a 422 when the body differs. */
export function decideIdempotency(
  claims: readonly IdempotencyKeyClaimed[],
  requestHash: string,
  now: number,
): IdempotencyDecision {
  const last = claims.at(-1);
  if (!last || now - Date.parse(last.data.claimedAt) >= IDEMPOTENCY_WINDOW_MS)
    return { kind: 'new' };
  return last.data.requestHash === requestHash
    ? { kind: 'replay', publicationId: last.data.publicationId }
    : { kind: 'mismatch' };
}

/** A stable hash of the request: key order in `data` does not matter. */
export function requestHash(request: { type: string; data: unknown }): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
