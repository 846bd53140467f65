/** A realistic published event of every type, as platforms send them. */
import { WebhookEventType } from '../../../common/webhook-event-types';
import { PublishedEvent } from '../published-event';

export const SAMPLE_WORKSPACE_ID = '01a21c43-0000-7000-8000-0000000000aa';
export const SAMPLE_TIMESTAMP = '2026-11-27T10:00:00.000Z';

const SAMPLE_DATA: Record<WebhookEventType, Record<string, unknown>> = {
  'customer.created': {
    id: 'cus_01J9ZQ4',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    created_at: '2026-11-27T09:59:58.000Z',
    metadata: { plan: 'pro', source: 'signup_form' },
    tags: ['vip'],
  },
  'customer.updated': {
    id: 'cus_01J9ZQ4',
    email: 'ada@example.com',
    name: 'Ada King',
    changed_fields: ['name'],
    previous: { name: 'Ada Lovelace' },
  },
  'customer.deleted': {
    id: 'cus_01J9ZQ4',
    email: 'ada@example.com',
    deleted_at: '2026-11-27T10:00:00.000Z',
  },
  'customer.state_changed': {
    id: 'cus_01J9ZQ4',
    email: 'ada@example.com',
    state: 'active',
    previous_state: 'trialing',
    reason: null,
  },
  'share.created': {
    id: 'shr_7Hq2',
    title: 'Q3 board pack',
    url: 'https://rapidly.example/s/7Hq2?ref=mail&lang=en',
    file_count: 3,
    password_protected: true,
    customer: { id: 'cus_01J9ZQ4', email: 'ada@example.com' },
  },
  'share.updated': {
    id: 'shr_7Hq2',
    title: 'Q3 board pack (final)',
    url: 'https://rapidly.example/s/7Hq2',
    changes: { title: { from: 'Q3 board pack', to: 'Q3 board pack (final)' } },
  },
  'workspace.updated': {
    id: SAMPLE_WORKSPACE_ID,
    name: 'Acme & Sons <Design>',
    slug: 'acme',
    settings: { timezone: 'Europe/Paris', locale: 'fr-FR', branding: { color: '#ff0066' } },
  },
  'file_sharing_session.created': {
    id: 'fss_31aQ',
    file_name: 'contract – final.pdf',
    file_size: 1048576,
    status: 'pending',
    expires_at: '2026-12-04T10:00:00.000Z',
    customer: { id: 'cus_01J9ZQ4', email: 'ada@example.com' },
  },
  'file_sharing_session.download_completed': {
    id: 'fss_31aQ',
    file_name: 'contract – final.pdf',
    file_size: 1048576,
    downloaded_at: '2026-11-27T10:00:00.000Z',
    downloader: { email: 'bob@example.org', country: 'DE' },
  },
  'file_sharing_session.expired': {
    id: 'fss_31aQ',
    file_name: '季度报告 📊.xlsx',
    status: 'expired',
    expired_at: '2026-11-27T10:00:00.000Z',
    downloads: 0,
  },
  'file_sharing_session.payment_received': {
    id: 'pay_9Kd1',
    amount: 4900,
    currency: 'EUR',
    status: 'paid',
    session: { id: 'fss_31aQ', file_name: 'contract – final.pdf' },
    payment_method: { type: 'card', last4: '4242', brand: 'visa' },
  },
};

export function sampleEvent(type: WebhookEventType): PublishedEvent {
  return {
    type,
    timestamp: SAMPLE_TIMESTAMP,
    workspaceId: SAMPLE_WORKSPACE_ID,
    data: SAMPLE_DATA[type],
  };
}

/** The data fields a chat message shows for each sample, in order, worked out by hand. */
export const SAMPLE_KEY_FIELDS: Record<WebhookEventType, [name: string, value: string][]> = {
  'customer.created': [
    ['id', 'cus_01J9ZQ4'],
    ['name', 'Ada Lovelace'],
    ['email', 'ada@example.com'],
    ['created_at', '2026-11-27T09:59:58.000Z'],
    ['metadata.plan', 'pro'],
    ['metadata.source', 'signup_form'],
  ],
  'customer.updated': [
    ['id', 'cus_01J9ZQ4'],
    ['name', 'Ada King'],
    ['email', 'ada@example.com'],
    ['previous.name', 'Ada Lovelace'],
  ],
  'customer.deleted': [
    ['id', 'cus_01J9ZQ4'],
    ['email', 'ada@example.com'],
    ['deleted_at', '2026-11-27T10:00:00.000Z'],
  ],
  'customer.state_changed': [
    ['id', 'cus_01J9ZQ4'],
    ['email', 'ada@example.com'],
    ['state', 'active'],
    ['previous_state', 'trialing'],
  ],
  'share.created': [
    ['id', 'shr_7Hq2'],
    ['title', 'Q3 board pack'],
    ['url', 'https://rapidly.example/s/7Hq2?ref=mail&lang=en'],
    ['file_count', '3'],
    ['password_protected', 'true'],
    ['customer.id', 'cus_01J9ZQ4'],
    ['customer.email', 'ada@example.com'],
  ],
  'share.updated': [
    ['id', 'shr_7Hq2'],
    ['title', 'Q3 board pack (final)'],
    ['url', 'https://rapidly.example/s/7Hq2'],
  ],
  'workspace.updated': [
    ['id', SAMPLE_WORKSPACE_ID],
    ['name', 'Acme & Sons <Design>'],
    ['slug', 'acme'],
    ['settings.timezone', 'Europe/Paris'],
    ['settings.locale', 'fr-FR'],
  ],
  'file_sharing_session.created': [
    ['id', 'fss_31aQ'],
    ['status', 'pending'],
    ['file_name', 'contract – final.pdf'],
    ['file_size', '1048576'],
    ['expires_at', '2026-12-04T10:00:00.000Z'],
    ['customer.id', 'cus_01J9ZQ4'],
    ['customer.email', 'ada@example.com'],
  ],
  'file_sharing_session.download_completed': [
    ['id', 'fss_31aQ'],
    ['file_name', 'contract – final.pdf'],
    ['file_size', '1048576'],
    ['downloaded_at', '2026-11-27T10:00:00.000Z'],
    ['downloader.email', 'bob@example.org'],
    ['downloader.country', 'DE'],
  ],
  'file_sharing_session.expired': [
    ['id', 'fss_31aQ'],
    ['status', 'expired'],
    ['file_name', '季度报告 📊.xlsx'],
    ['expired_at', '2026-11-27T10:00:00.000Z'],
    ['downloads', '0'],
  ],
  'file_sharing_session.payment_received': [
    ['id', 'pay_9Kd1'],
    ['status', 'paid'],
    ['amount', '4900'],
    ['currency', 'EUR'],
    ['session.id', 'fss_31aQ'],
    ['session.file_name', 'contract – final.pdf'],
    ['payment_method.type', 'card'],
    ['payment_method.last4', '4242'],
    ['payment_method.brand', 'visa'],
  ],
};
