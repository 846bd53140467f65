import { WebhookEventEvent } from '../delivery/webhook-event';

/** A time window, epoch ms, `until` exclusive. */
export interface RecoveryWindow {
  since: number;
  until: number;
}

/**
 * Whether a webhook event is to be recovered: its last outcome is a failure (its retries ran
 * out) that happened in the window, it never succeeded, no redelivery was asked for since (so
 * recovering twice redelivers once), and its payload is still kept.
 */
export function needsRecovery(
  events: readonly WebhookEventEvent[],
  window: RecoveryWindow,
): boolean {
  let failedAt: number | null = null;
  for (const event of events) {
    switch (event.type) {
      case 'DeliveryAttempted':
        if (event.data.succeeded) return false;
        break;
      case 'WebhookEventFailed':
        failedAt = Date.parse(event.data.failedAt);
        break;
      case 'WebhookEventRedeliveryRequested':
      case 'WebhookEventSkipped':
        failedAt = null;
        break;
      case 'WebhookEventArchived':
        return false;
    }
  }
  return failedAt !== null && failedAt >= window.since && failedAt < window.until;
}
