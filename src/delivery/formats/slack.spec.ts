import fc from 'fast-check';
import { WEBHOOK_EVENT_TYPES } from '../../common/webhook-event-types';
import { PublishedEvent, SLACK_LIMITS, eventTitle, renderPayload } from './index';
import { KEY_FIELD_VALUE_MAX, MAX_KEY_FIELDS } from './key-fields';
import { SlackMessage } from './slack';
import { hostileEvent } from './testing/arbitraries';
import { slackViolations } from './testing/limits';
import {
  SAMPLE_KEY_FIELDS,
  SAMPLE_TIMESTAMP,
  SAMPLE_WORKSPACE_ID,
  sampleEvent,
} from './testing/sample-events';

const render = (event: PublishedEvent) => renderPayload('slack', event);
const messageOf = (event: PublishedEvent) => JSON.parse(render(event)) as SlackMessage;
const withData = (data: Record<string, unknown>): PublishedEvent => ({
  ...sampleEvent('customer.created'),
  data,
});
const escaped = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fieldTexts = (message: SlackMessage) => {
  const section = message.blocks.find((block) => block.type === 'section');
  return section?.type === 'section' ? section.fields?.map((field) => field.text) : undefined;
};

describe('slack format', () => {
  it.each(WEBHOOK_EVENT_TYPES)('renders %s as header, section and context blocks', (type) => {
    const body = render(sampleEvent(type));
    const title = eventTitle(type);
    expect(JSON.parse(body)).toEqual({
      text: title,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `*Workspace:* ${SAMPLE_WORKSPACE_ID}` },
          fields: SAMPLE_KEY_FIELDS[type].map(([name, value]) => ({
            type: 'mrkdwn',
            text: `*${escaped(name)}*\n${escaped(value)}`,
          })),
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `\`${type}\` · ${SAMPLE_TIMESTAMP}` }],
        },
      ],
    });
    expect(slackViolations(body)).toEqual([]);
  });

  it('escapes &, < and > so data cannot form links or mentions', () => {
    const message = messageOf({
      ...withData({ note: '<!channel> & <@U024BE7LH> <https://evil.example|click>' }),
      workspaceId: 'ws<1>&',
    });
    expect(fieldTexts(message)).toEqual([
      '*note*\n&lt;!channel&gt; &amp; &lt;@U024BE7LH&gt; &lt;https://evil.example|click&gt;',
    ]);
    expect(message.blocks[1]).toMatchObject({
      text: { text: '*Workspace:* ws&lt;1&gt;&amp;' },
    });
  });

  it('truncates escaped text without cutting an entity in half', () => {
    const [field] = fieldTexts(messageOf(withData({ note: 'a&'.repeat(1000) }))) ?? [];
    const value = field.slice('*note*\n'.length);
    expect(value.length).toBeLessThanOrEqual(KEY_FIELD_VALUE_MAX);
    expect(value).toMatch(/^(a&amp;)+a?…$/);
  });

  it('leaves the fields out when data has no scalar to show', () => {
    const message = messageOf(withData({ deep: { deeper: { deepest: 1 } }, list: [1, 2] }));
    expect(message.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Workspace:* ${SAMPLE_WORKSPACE_ID}` },
    });
    expect(slackViolations(render(withData({})))).toEqual([]);
  });

  it('stays within every limit when every field is as long as it can be', () => {
    const data: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) {
      data[`${i}`.padStart(500, '<')] = '>'.repeat(10_000);
      data[`nested${i}`] = { ['&'.repeat(500)]: '😀'.repeat(10_000) };
    }
    const body = render({ ...withData(data), workspaceId: '&'.repeat(100_000) });
    expect(fieldTexts(JSON.parse(body) as SlackMessage)).toHaveLength(MAX_KEY_FIELDS);
    expect(slackViolations(body)).toEqual([]);
  });

  it('stays within every Slack limit, as valid JSON without lone surrogates, for any data', () => {
    fc.assert(
      fc.property(hostileEvent, (event) => {
        expect(slackViolations(render(event))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('checks against the documented limits', () => {
    expect(SLACK_LIMITS).toEqual({
      blocks: 50,
      headerText: 150,
      sectionText: 3000,
      sectionFields: 10,
      sectionFieldText: 2000,
      contextElements: 10,
      contextElementText: 3000,
      text: 40000,
    });
  });
});
