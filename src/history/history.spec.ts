import { RecordedEvent } from '../eventstore/event-store';
import { toHistory, toHistoryEntry } from './history';

const recorded = (type: string, data: Record<string, unknown>, revision = 0): RecordedEvent => ({
  position: 40 + revision,
  streamId: 'webhook_endpoint-e1',
  revision,
  type,
  data,
  metadata: { version: 1 },
  recordedAt: '2026-11-27T10:00:00.000Z',
});

describe('toHistoryEntry', () => {
  it('shows position, revision, type, time and the data with snake_case keys', () => {
    const entry = toHistoryEntry(
      recorded('WebhookEndpointUpdated', {
        endpointId: 'e1',
        url: 'https://example.com/hook',
        events: ['customer.created'],
        modifiedAt: '2026-11-27T10:00:00.000Z',
      }),
    );
    expect(entry).toEqual({
      position: 40,
      revision: 0,
      type: 'WebhookEndpointUpdated',
      recorded_at: '2026-11-27T10:00:00.000Z',
      data: {
        endpoint_id: 'e1',
        url: 'https://example.com/hook',
        events: ['customer.created'],
        modified_at: '2026-11-27T10:00:00.000Z',
      },
    });
  });

  it('never shows a secret, current or previous', () => {
    const history = toHistory([
      recorded('WebhookEndpointCreated', { endpointId: 'e1', secret: 'whsec_c3VwZXJzZWNyZXQ=' }),
      recorded(
        'WebhookEndpointSecretRotated',
        {
          endpointId: 'e1',
          secret: 'whsec_bmV3c2VjcmV0',
          previousSecret: 'whsec_c3VwZXJzZWNyZXQ=',
          previousSecretExpiresAt: '2026-11-28T10:00:00.000Z',
        },
        1,
      ),
    ]);
    expect(JSON.stringify(history)).not.toContain('whsec_');
    expect(history[1].data).toEqual({
      endpoint_id: 'e1',
      previous_secret_expires_at: '2026-11-28T10:00:00.000Z',
    });
  });

  it('hides an archived payload and keeps the rest of the event', () => {
    const created = recorded('WebhookEventCreated', { webhookEventId: 'w1', payload: '{"a":1}' });
    expect(toHistoryEntry(created).data).toEqual({ webhook_event_id: 'w1', payload: '{"a":1}' });
    expect(toHistoryEntry(created, { payloadArchived: true }).data).toEqual({
      webhook_event_id: 'w1',
      payload: null,
    });
  });
});
