import { WEBHOOK_EVENT_TYPES } from '../../common/webhook-event-types';
import { DISCORD_LIMITS, SLACK_LIMITS, eventTitle } from './index';

describe('eventTitle', () => {
  it.each([
    ['customer.created', 'Customer created'],
    ['customer.updated', 'Customer updated'],
    ['customer.deleted', 'Customer deleted'],
    ['customer.state_changed', 'Customer state changed'],
    ['share.created', 'Share created'],
    ['share.updated', 'Share updated'],
    ['workspace.updated', 'Workspace updated'],
    ['file_sharing_session.created', 'File sharing session created'],
    ['file_sharing_session.download_completed', 'File download completed'],
    ['file_sharing_session.expired', 'File sharing session expired'],
    ['file_sharing_session.payment_received', 'Payment received'],
  ] as const)('%s reads "%s"', (type, title) => {
    expect(eventTitle(type)).toBe(title);
  });

  it('gives every type its own title, short enough for both platforms as is', () => {
    const titles = WEBHOOK_EVENT_TYPES.map(eventTitle);
    expect(new Set(titles).size).toBe(WEBHOOK_EVENT_TYPES.length);
    for (const title of titles) {
      expect(title.length).toBeLessThanOrEqual(
        Math.min(DISCORD_LIMITS.title, SLACK_LIMITS.headerText),
      );
      expect(title).not.toMatch(/[&<>*_`~]/); // used unescaped in Slack's mrkdwn fallback text
    }
  });
});
