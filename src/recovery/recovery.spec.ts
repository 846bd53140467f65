import { WebhookEventEvent } from '../delivery/webhook-event';
import { needsRecovery } from './recovery';

const at = (iso: string) => `2026-11-27T${iso}.000Z`;
const created: WebhookEventEvent = {
  type: 'WebhookEventCreated',
  data: {
    webhookEventId: 'w',
    endpointId: 'e',
    workspaceId: 'ws',
    publicationId: 'p',
    eventType: 'customer.created',
    payload: '{}',
    createdAt: at('10:00:00'),
  },
};
const attempt = (time: string, succeeded: boolean): WebhookEventEvent => ({
  type: 'DeliveryAttempted',
  data: {
    webhookEventId: 'w',
    deliveryId: `d-${time}`,
    endpointId: 'e',
    succeeded,
    httpCode: succeeded ? 200 : 500,
    response: null,
    durationMs: 3,
    attemptedAt: at(time),
    retryAt: null,
  },
});
const failed = (time: string): WebhookEventEvent => ({
  type: 'WebhookEventFailed',
  data: { webhookEventId: 'w', failedAt: at(time) },
});
const redelivery = (time: string): WebhookEventEvent => ({
  type: 'WebhookEventRedeliveryRequested',
  data: { webhookEventId: 'w', endpointId: 'e', requestedAt: at(time) },
});
const window = { since: Date.parse(at('11:00:00')), until: Date.parse(at('12:00:00')) };

describe('needsRecovery', () => {
  it('takes an event whose retries ran out within the window', () => {
    expect(needsRecovery([created, attempt('11:10:00', false), failed('11:10:00')], window)).toBe(
      true,
    );
  });

  it('leaves failures outside the window: before since, at or after until', () => {
    expect(needsRecovery([created, failed('10:59:59')], window)).toBe(false);
    expect(needsRecovery([created, failed('11:00:00')], window)).toBe(true);
    expect(needsRecovery([created, failed('12:00:00')], window)).toBe(false);
  });

  it('leaves pending, succeeded, later-succeeded and archived events', () => {
    expect(needsRecovery([created, attempt('11:10:00', false)], window)).toBe(false);
    expect(needsRecovery([created, attempt('11:10:00', true)], window)).toBe(false);
    const failedThenSucceeded = [
      created,
      failed('11:10:00'),
      redelivery('11:20:00'),
      attempt('11:21:00', true),
    ];
    expect(needsRecovery(failedThenSucceeded, window)).toBe(false);
    const archived: WebhookEventEvent = {
      type: 'WebhookEventArchived',
      data: { webhookEventId: 'w', archivedAt: at('11:30:00') },
    };
    expect(needsRecovery([created, failed('11:10:00'), archived], window)).toBe(false);
  });

  it('does not recover twice: a redelivery asked for since the failure counts, until it fails again', () => {
    const recovered = [created, failed('11:10:00'), redelivery('11:20:00')];
    expect(needsRecovery(recovered, window)).toBe(false);
    expect(needsRecovery([...recovered, failed('11:25:00')], window)).toBe(true);
  });
});
