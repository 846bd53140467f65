import {
  DeliveryAttempted,
  WebhookEvent,
  WebhookEventArchivedError,
  WebhookEventCreated,
  WebhookEventEvent,
  WebhookEventNotFoundError,
  RedeliverWebhookEvent,
  decideRedeliver,
  evolve,
} from './webhook-event';
import { specFor } from '../common/testing/given-when-then';

const spec = specFor<WebhookEvent | null, WebhookEventEvent, RedeliverWebhookEvent>({
  initialState: null,
  evolve,
  decide: decideRedeliver,
});

const webhookEventId = '01a21c43-0000-7000-8000-000000000e01';
const now = '2026-11-27T10:00:00.000Z';
const created: WebhookEventCreated = {
  type: 'WebhookEventCreated',
  data: {
    webhookEventId,
    endpointId: '01a21c43-0000-7000-8000-000000000001',
    workspaceId: '01a21c43-0000-7000-8000-0000000000aa',
    publicationId: '01a21c43-0000-7000-8000-000000000b01',
    eventType: 'customer.created',
    payload: '{"type":"customer.created"}',
    createdAt: '2026-11-27T09:00:00.000Z',
  },
};
const attempt = (succeeded: boolean, httpCode: number | null): DeliveryAttempted => ({
  type: 'DeliveryAttempted',
  data: {
    webhookEventId,
    deliveryId: `01a21c43-0000-7000-8000-00000000${String(httpCode ?? 0).padStart(4, '0')}`,
    endpointId: created.data.endpointId,
    succeeded,
    httpCode,
    response: null,
    durationMs: 3,
    attemptedAt: now,
    retryAt: null,
  },
});
const fold = (events: WebhookEventEvent[]) => events.reduce(evolve, null as WebhookEvent | null);

describe('webhook event', () => {
  it('is pending until an attempt succeeds or the budget runs out', () => {
    expect(fold([created])).toMatchObject({ succeeded: null, lastHttpCode: null });
    expect(fold([created, attempt(false, 500)])).toMatchObject({
      succeeded: null,
      lastHttpCode: 500,
    });
    expect(fold([created, attempt(false, 500), attempt(true, 200)])).toMatchObject({
      succeeded: true,
    });
    const failed: WebhookEventEvent = {
      type: 'WebhookEventFailed',
      data: { webhookEventId, failedAt: now },
    };
    expect(fold([created, attempt(false, null), failed])).toMatchObject({
      succeeded: false,
      lastHttpCode: null,
    });
  });

  it('keeps a success when a later redelivery fails', () => {
    const failed: WebhookEventEvent = {
      type: 'WebhookEventFailed',
      data: { webhookEventId, failedAt: now },
    };
    expect(fold([created, attempt(true, 200), attempt(false, 503), failed])).toMatchObject({
      succeeded: true,
      lastHttpCode: 503,
    });
  });

  it('drops the payload when archived', () => {
    const archived: WebhookEventEvent = {
      type: 'WebhookEventArchived',
      data: { webhookEventId, archivedAt: now },
    };
    expect(fold([created, archived])).toMatchObject({ payload: null, isArchived: true });
  });

  describe('redeliver', () => {
    const redeliver: RedeliverWebhookEvent = {
      type: 'RedeliverWebhookEvent',
      endpointEnabled: true,
      now,
    };

    it('requests a new attempt whatever the state', () => {
      spec
        .given([created, attempt(true, 200)])
        .when(redeliver)
        .then([
          {
            type: 'WebhookEventRedeliveryRequested',
            data: { webhookEventId, endpointId: created.data.endpointId, requestedAt: now },
          },
        ]);
    });

    it('skips the event when the endpoint is disabled', () => {
      spec
        .given([created])
        .when({ ...redeliver, endpointEnabled: false })
        .then([
          {
            type: 'WebhookEventSkipped',
            data: { webhookEventId, reason: 'endpoint_disabled', skippedAt: now },
          },
        ]);
    });

    it('refuses unknown and archived events', () => {
      spec.given([]).when(redeliver).thenThrows(WebhookEventNotFoundError);
      spec
        .given([
          created,
          { type: 'WebhookEventArchived', data: { webhookEventId, archivedAt: now } },
        ])
        .when(redeliver)
        .thenThrows(WebhookEventArchivedError);
    });
  });
});
