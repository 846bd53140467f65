import fc from 'fast-check';
import { WEBHOOK_EVENT_TYPES } from '../../common/webhook-event-types';
import { DiscordMessage } from './discord';
import { DISCORD_LIMITS, PublishedEvent, eventTitle, renderPayload } from './index';
import { KEY_FIELD_NAME_MAX, KEY_FIELD_VALUE_MAX, MAX_KEY_FIELDS } from './key-fields';
import { hostileEvent } from './testing/arbitraries';
import { discordViolations } from './testing/limits';
import {
  SAMPLE_KEY_FIELDS,
  SAMPLE_TIMESTAMP,
  SAMPLE_WORKSPACE_ID,
  sampleEvent,
} from './testing/sample-events';

const render = (event: PublishedEvent) => renderPayload('discord', event);
const embedOf = (event: PublishedEvent) => (JSON.parse(render(event)) as DiscordMessage).embeds[0];
const withData = (data: Record<string, unknown>): PublishedEvent => ({
  ...sampleEvent('customer.created'),
  data,
});

describe('discord format', () => {
  it.each(WEBHOOK_EVENT_TYPES)('renders %s as one readable embed', (type) => {
    const body = render(sampleEvent(type));
    const message = JSON.parse(body) as DiscordMessage;
    expect(message.content).toBeUndefined();
    expect(message.embeds).toHaveLength(1);
    const [embed] = message.embeds;
    expect(embed.title).toBe(eventTitle(type));
    expect(embed.footer).toEqual({ text: type });
    expect(embed.timestamp).toBe(SAMPLE_TIMESTAMP);
    expect(embed.color).toEqual(expect.any(Number));
    expect(embed.fields[0]).toEqual({
      name: 'Workspace',
      value: SAMPLE_WORKSPACE_ID,
      inline: false,
    });
    expect(embed.fields.slice(1).map((field) => [field.name, field.value])).toEqual(
      SAMPLE_KEY_FIELDS[type],
    );
    expect(discordViolations(body)).toEqual([]);
  });

  it('shows short values side by side and long ones on their own row', () => {
    const [, short, long] = embedOf(withData({ id: 'cus_1', note: 'n'.repeat(41) })).fields;
    expect(short).toEqual({ name: 'id', value: 'cus_1', inline: true });
    expect(long.inline).toBe(false);
  });

  it('truncates long names and values with an ellipsis', () => {
    const [, field] = embedOf(withData({ ['k'.repeat(500)]: 'v'.repeat(5000) })).fields;
    expect(field.name).toBe(`${'k'.repeat(KEY_FIELD_NAME_MAX - 1)}…`);
    expect(field.value).toBe(`${'v'.repeat(KEY_FIELD_VALUE_MAX - 1)}…`);
  });

  it('never sends a blank field value, which Discord rejects', () => {
    const embed = embedOf({ ...withData({ note: '', spaces: ' \n ' }), workspaceId: '' });
    expect(embed.fields.map((field) => field.value)).toEqual(['(empty)', '(empty)', '(empty)']);
  });

  it('stays within every limit when every field is as long as it can be', () => {
    const data: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) {
      data[`${i}`.padStart(500, '😀')] = '&'.repeat(10_000);
      data[`nested${i}`] = { ['x'.repeat(500)]: 'y'.repeat(10_000) };
    }
    const body = render({ ...withData(data), workspaceId: 'w'.repeat(100_000) });
    const [embed] = (JSON.parse(body) as DiscordMessage).embeds;
    expect(embed.fields).toHaveLength(1 + MAX_KEY_FIELDS);
    expect(discordViolations(body)).toEqual([]);
  });

  it('stays within every Discord limit, as valid JSON without lone surrogates, for any data', () => {
    fc.assert(
      fc.property(hostileEvent, (event) => {
        expect(discordViolations(render(event))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('checks against the documented limits', () => {
    expect(DISCORD_LIMITS).toEqual({
      content: 2000,
      embeds: 10,
      title: 256,
      description: 4096,
      fields: 25,
      fieldName: 256,
      fieldValue: 1024,
      footerText: 2048,
      embedsTotal: 6000,
    });
  });
});
