/** The event types platforms publish and endpoints subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.state_changed',
  'share.created',
  'share.updated',
  'workspace.updated',
  'file_sharing_session.created',
  'file_sharing_session.download_completed',
  'file_sharing_session.expired',
  'file_sharing_session.payment_received',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
