/**
 * The webhook endpoint aggregate: its events, how they fold into state, and the pure decisions
 * that turn a command into new events. No framework or database code here.
 */
import { WebhookEventType } from '../common/webhook-event-types';

export const ENDPOINT_FORMATS = ['raw', 'discord', 'slack'] as const;
export type EndpointFormat = (typeof ENDPOINT_FORMATS)[number];

export const endpointStream = (id: string) => `webhook_endpoint-${id}`;
export const ENDPOINT_STREAM_PREFIX = 'webhook_endpoint-';

// ---- events (payload version 1) ----

export interface WebhookEndpointCreated {
  type: 'WebhookEndpointCreated';
  data: {
    endpointId: string;
    workspaceId: string;
    url: string;
    format: EndpointFormat;
    events: WebhookEventType[];
    secret: string;
    createdAt: string;
  };
}

export interface WebhookEndpointUpdated {
  type: 'WebhookEndpointUpdated';
  data: {
    endpointId: string;
    url?: string;
    format?: EndpointFormat;
    events?: WebhookEventType[];
    modifiedAt: string;
  };
}

export interface WebhookEndpointEnabled {
  type: 'WebhookEndpointEnabled';
  data: { endpointId: string; modifiedAt: string };
}

/** `failing`: too many failed events in a row; `gone`: the receiver answered 410 Gone. */
export type DisableReason = 'requested' | 'failing' | 'gone';

export interface WebhookEndpointDisabled {
  type: 'WebhookEndpointDisabled';
  data: { endpointId: string; reason: DisableReason; modifiedAt: string };
}

/** The previous secret keeps signing until `previousSecretExpiresAt` so receivers can roll over. */
export interface WebhookEndpointSecretRotated {
  type: 'WebhookEndpointSecretRotated';
  data: {
    endpointId: string;
    secret: string;
    previousSecretExpiresAt: string;
    modifiedAt: string;
  };
}

export interface WebhookEndpointDeleted {
  type: 'WebhookEndpointDeleted';
  data: { endpointId: string; deletedAt: string };
}

export type EndpointEvent =
  | WebhookEndpointCreated
  | WebhookEndpointUpdated
  | WebhookEndpointEnabled
  | WebhookEndpointDisabled
  | WebhookEndpointSecretRotated
  | WebhookEndpointDeleted;

export const ENDPOINT_EVENT_TYPES: ReadonlyArray<EndpointEvent['type']> = [
  'WebhookEndpointCreated',
  'WebhookEndpointUpdated',
  'WebhookEndpointEnabled',
  'WebhookEndpointDisabled',
  'WebhookEndpointSecretRotated',
  'WebhookEndpointDeleted',
];

// ---- state ----

export interface Endpoint {
  id: string;
  workspaceId: string;
  url: string;
  format: EndpointFormat;
  events: WebhookEventType[];
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: string | null;
  enabled: boolean;
  /** When it was created or last re-enabled: failures before that no longer count against it. */
  enabledAt: string;
  createdAt: string;
  modifiedAt: string | null;
  deletedAt: string | null;
}

export function evolve(state: Endpoint | null, event: EndpointEvent): Endpoint | null {
  if (event.type === 'WebhookEndpointCreated') {
    const d = event.data;
    return {
      id: d.endpointId,
      workspaceId: d.workspaceId,
      url: d.url,
      format: d.format,
      events: d.events,
      secret: d.secret,
      previousSecret: null,
      previousSecretExpiresAt: null,
      enabled: true,
      enabledAt: d.createdAt,
      createdAt: d.createdAt,
      modifiedAt: null,
      deletedAt: null,
    };
  }
  if (!state) return state;
  switch (event.type) {
    case 'WebhookEndpointUpdated': {
      const { endpointId: _id, modifiedAt, ...changes } = event.data;
      return { ...state, ...changes, modifiedAt };
    }
    case 'WebhookEndpointEnabled':
      return {
        ...state,
        enabled: true,
        enabledAt: event.data.modifiedAt,
        modifiedAt: event.data.modifiedAt,
      };
    case 'WebhookEndpointDisabled':
      return { ...state, enabled: false, modifiedAt: event.data.modifiedAt };
    case 'WebhookEndpointSecretRotated':
      return {
        ...state,
        secret: event.data.secret,
        previousSecret: state.secret,
        previousSecretExpiresAt: event.data.previousSecretExpiresAt,
        modifiedAt: event.data.modifiedAt,
      };
    case 'WebhookEndpointDeleted':
      return { ...state, enabled: false, deletedAt: event.data.deletedAt };
  }
}

export function fold(events: readonly EndpointEvent[]): Endpoint | null {
  return events.reduce<Endpoint | null>(evolve, null);
}

// ---- commands and decisions ----

export interface CreateEndpoint {
  type: 'CreateEndpoint';
  endpointId: string;
  workspaceId: string;
  url: string;
  format: EndpointFormat;
  events: WebhookEventType[];
  secret: string;
  now: string;
}

export interface UpdateEndpoint {
  type: 'UpdateEndpoint';
  url?: string;
  format?: EndpointFormat;
  events?: WebhookEventType[];
  /** Deprecated way to set a secret; handled as a rotation. */
  secret?: string;
  enabled?: boolean;
  secretGracePeriodMs: number;
  now: string;
}

export interface RotateEndpointSecret {
  type: 'RotateEndpointSecret';
  secret: string;
  secretGracePeriodMs: number;
  now: string;
}

export interface DeleteEndpoint {
  type: 'DeleteEndpoint';
  now: string;
}

/** Issued by the delivery engine, not by users. */
export interface DisableEndpoint {
  type: 'DisableEndpoint';
  reason: Exclude<DisableReason, 'requested'>;
  now: string;
}

export type EndpointCommand =
  CreateEndpoint | UpdateEndpoint | RotateEndpointSecret | DeleteEndpoint | DisableEndpoint;

/** The endpoint does not exist, or was deleted: callers answer 404. */
export class EndpointNotFoundError extends Error {
  constructor() {
    super('Webhook endpoint not found');
  }
}

export class EndpointAlreadyExistsError extends Error {
  constructor() {
    super('Webhook endpoint already exists');
  }
}

export function decide(state: Endpoint | null, command: EndpointCommand): EndpointEvent[] {
  if (command.type === 'CreateEndpoint') {
    if (state) throw new EndpointAlreadyExistsError();
    const { type: _type, endpointId, workspaceId, url, format, events, secret, now } = command;
    return [
      {
        type: 'WebhookEndpointCreated',
        data: {
          endpointId,
          workspaceId,
          url,
          format,
          events: dedupe(events),
          secret,
          createdAt: now,
        },
      },
    ];
  }
  if (!state || state.deletedAt) throw new EndpointNotFoundError();
  switch (command.type) {
    case 'UpdateEndpoint':
      return decideUpdate(state, command);
    case 'RotateEndpointSecret':
      return [rotation(state, command.secret, command.secretGracePeriodMs, command.now)];
    case 'DeleteEndpoint':
      return [
        { type: 'WebhookEndpointDeleted', data: { endpointId: state.id, deletedAt: command.now } },
      ];
    case 'DisableEndpoint':
      if (!state.enabled) return [];
      return [
        {
          type: 'WebhookEndpointDisabled',
          data: { endpointId: state.id, reason: command.reason, modifiedAt: command.now },
        },
      ];
  }
}

/** Only real changes become events; an update that changes nothing records nothing. */
function decideUpdate(state: Endpoint, command: UpdateEndpoint): EndpointEvent[] {
  const endpointId = state.id;
  const modifiedAt = command.now;
  const changes: Omit<WebhookEndpointUpdated['data'], 'endpointId' | 'modifiedAt'> = {};
  if (command.url !== undefined && command.url !== state.url) changes.url = command.url;
  if (command.format !== undefined && command.format !== state.format) {
    changes.format = command.format;
  }
  if (command.events !== undefined) {
    const events = dedupe(command.events);
    if (!sameMembers(events, state.events)) changes.events = events;
  }
  const result: EndpointEvent[] = [];
  if (Object.keys(changes).length > 0) {
    result.push({ type: 'WebhookEndpointUpdated', data: { endpointId, ...changes, modifiedAt } });
  }
  if (command.secret !== undefined && command.secret !== state.secret) {
    result.push(rotation(state, command.secret, command.secretGracePeriodMs, command.now));
  }
  if (command.enabled === true && !state.enabled) {
    result.push({ type: 'WebhookEndpointEnabled', data: { endpointId, modifiedAt } });
  }
  if (command.enabled === false && state.enabled) {
    result.push({
      type: 'WebhookEndpointDisabled',
      data: { endpointId, reason: 'requested', modifiedAt },
    });
  }
  return result;
}

function rotation(
  state: Endpoint,
  secret: string,
  gracePeriodMs: number,
  now: string,
): WebhookEndpointSecretRotated {
  return {
    type: 'WebhookEndpointSecretRotated',
    data: {
      endpointId: state.id,
      secret,
      previousSecretExpiresAt: new Date(Date.parse(now) + gracePeriodMs).toISOString(),
      modifiedAt: now,
    },
  };
}

function dedupe<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function sameMembers<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}
