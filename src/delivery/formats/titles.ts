import { WebhookEventType } from '../../common/webhook-event-types';

/** What a person reading a chat channel should see for each event type. */
const EVENT_TITLES: Record<WebhookEventType, string> = {
  'customer.created': 'Customer created',
  'customer.updated': 'Customer updated',
  'customer.deleted': 'Customer deleted',
  'customer.state_changed': 'Customer state changed',
  'share.created': 'Share created',
  'share.updated': 'Share updated',
  'workspace.updated': 'Workspace updated',
  'file_sharing_session.created': 'File sharing session created',
  'file_sharing_session.download_completed': 'File download completed',
  'file_sharing_session.expired': 'File sharing session expired',
  'file_sharing_session.payment_received': 'Payment received',
};

export function eventTitle(type: WebhookEventType): string {
  return EVENT_TITLES[type];
}
