import { specFor } from '../common/testing/given-when-then';
import {
  Endpoint,
  EndpointAlreadyExistsError,
  EndpointCommand,
  EndpointEvent,
  EndpointNotFoundError,
  WebhookEndpointCreated,
  decide,
  evolve,
  fold,
} from './endpoint';

const spec = specFor<Endpoint | null, EndpointEvent, EndpointCommand>({
  initialState: null,
  evolve,
  decide,
});

const endpointId = '01a21c43-0000-7000-8000-000000000001';
const now = '2026-11-27T10:00:00.000Z';
const DAY = 24 * 60 * 60 * 1000;

const created: WebhookEndpointCreated = {
  type: 'WebhookEndpointCreated',
  data: {
    endpointId,
    workspaceId: '01a21c43-0000-7000-8000-0000000000aa',
    url: 'https://example.com/hook',
    format: 'raw',
    events: ['customer.created'],
    secret: 'whsec_old',
    createdAt: '2026-11-27T09:00:00.000Z',
  },
};
const deleted: EndpointEvent = {
  type: 'WebhookEndpointDeleted',
  data: { endpointId, deletedAt: '2026-11-27T09:30:00.000Z' },
};
const update = (changes: Partial<Extract<EndpointCommand, { type: 'UpdateEndpoint' }>>) =>
  ({ type: 'UpdateEndpoint', secretGracePeriodMs: DAY, now, ...changes }) as EndpointCommand;

describe('webhook endpoint decisions', () => {
  describe('create', () => {
    const create: EndpointCommand = {
      type: 'CreateEndpoint',
      endpointId,
      workspaceId: created.data.workspaceId,
      url: 'https://example.com/hook',
      format: 'raw',
      events: ['customer.created', 'customer.created'],
      secret: 'whsec_old',
      now: created.data.createdAt,
    };

    it('records the endpoint with its events de-duplicated', () => {
      spec.given([]).when(create).then([created]);
    });

    it('refuses to create the same endpoint twice', () => {
      spec.given([created]).when(create).thenThrows(EndpointAlreadyExistsError);
    });
  });

  describe('update', () => {
    it('records only the fields that change', () => {
      spec
        .given([created])
        .when(
          update({ url: 'https://example.org/new', format: 'raw', events: ['customer.created'] }),
        )
        .then([
          {
            type: 'WebhookEndpointUpdated',
            data: { endpointId, url: 'https://example.org/new', modifiedAt: now },
          },
        ]);
    });

    it('records nothing when nothing changes', () => {
      spec
        .given([created])
        .when(update({ enabled: true, format: 'raw' }))
        .then([]);
    });

    it('treats the event list as a set', () => {
      spec
        .given([created])
        .when(update({ events: ['customer.created', 'customer.created'] }))
        .then([]);
    });

    it('disables and re-enables', () => {
      const disabled: EndpointEvent = {
        type: 'WebhookEndpointDisabled',
        data: { endpointId, reason: 'requested', modifiedAt: now },
      };
      spec
        .given([created])
        .when(update({ enabled: false }))
        .then([disabled]);
      spec
        .given([created, disabled])
        .when(update({ enabled: true }))
        .then([{ type: 'WebhookEndpointEnabled', data: { endpointId, modifiedAt: now } }]);
    });

    it('handles a secret set through update as a rotation with a grace period', () => {
      spec
        .given([created])
        .when(update({ secret: 'whsec_new' }))
        .then([
          {
            type: 'WebhookEndpointSecretRotated',
            data: {
              endpointId,
              secret: 'whsec_new',
              previousSecretExpiresAt: '2026-11-28T10:00:00.000Z',
              modifiedAt: now,
            },
          },
        ]);
    });

    it('answers not found for a missing or deleted endpoint', () => {
      spec
        .given([])
        .when(update({ url: 'https://a.example' }))
        .thenThrows(EndpointNotFoundError);
      spec
        .given([created, deleted])
        .when(update({ url: 'https://a.example' }))
        .thenThrows(EndpointNotFoundError);
    });
  });

  describe('secret rotation', () => {
    it('keeps the previous secret until the grace period ends', () => {
      const rotate: EndpointCommand = {
        type: 'RotateEndpointSecret',
        secret: 'whsec_new',
        secretGracePeriodMs: DAY,
        now,
      };
      const events = decide(fold([created]), rotate);
      expect(events).toEqual([
        {
          type: 'WebhookEndpointSecretRotated',
          data: {
            endpointId,
            secret: 'whsec_new',
            previousSecretExpiresAt: '2026-11-28T10:00:00.000Z',
            modifiedAt: now,
          },
        },
      ]);
      expect(fold([created, ...events])).toMatchObject({
        secret: 'whsec_new',
        previousSecret: 'whsec_old',
        previousSecretExpiresAt: '2026-11-28T10:00:00.000Z',
      });
    });
  });

  describe('delete', () => {
    it('soft-deletes: the endpoint stays in the stream, disabled and marked deleted', () => {
      spec
        .given([created])
        .when({ type: 'DeleteEndpoint', now })
        .then([{ type: 'WebhookEndpointDeleted', data: { endpointId, deletedAt: now } }]);
      expect(fold([created, deleted])).toMatchObject({
        enabled: false,
        deletedAt: deleted.data.deletedAt,
      });
    });

    it('cannot delete twice', () => {
      spec
        .given([created, deleted])
        .when({ type: 'DeleteEndpoint', now })
        .thenThrows(EndpointNotFoundError);
    });
  });
});
