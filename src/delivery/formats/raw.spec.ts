import { WEBHOOK_EVENT_TYPES } from '../../common/webhook-event-types';
import { renderPayload } from './index';
import { SAMPLE_TIMESTAMP, sampleEvent } from './testing/sample-events';

describe('raw format', () => {
  it('is exactly {"type","timestamp","data"}, byte for byte', () => {
    const body = renderPayload('raw', {
      type: 'file_sharing_session.download_completed',
      timestamp: '2026-11-27T10:00:00.000Z',
      workspaceId: 'ws_1',
      data: { file_name: 'contract – final.pdf', size: 12, nested: { ok: true, list: [1, null] } },
    });
    const expected =
      '{"type":"file_sharing_session.download_completed","timestamp":"2026-11-27T10:00:00.000Z",' +
      '"data":{"file_name":"contract – final.pdf","size":12,"nested":{"ok":true,"list":[1,null]}}}';
    expect(Buffer.from(body, 'utf8').equals(Buffer.from(expected, 'utf8'))).toBe(true);
  });

  it.each(WEBHOOK_EVENT_TYPES)('renders %s with the data untouched and no workspace', (type) => {
    const event = sampleEvent(type);
    const body = renderPayload('raw', event);
    expect(body).toBe(
      `{"type":"${type}","timestamp":"${SAMPLE_TIMESTAMP}","data":${JSON.stringify(event.data)}}`,
    );
    expect(Object.keys(JSON.parse(body) as object)).toEqual(['type', 'timestamp', 'data']);
  });
});
