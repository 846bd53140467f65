/**
 * The `slack` format: a Slack incoming-webhook message built from Block Kit blocks.
 * https://api.slack.com/reference/block-kit/blocks
 */
import { KEY_FIELD_NAME_MAX, KEY_FIELD_VALUE_MAX, keyFields } from './key-fields';
import { PublishedEvent } from './published-event';
import { orPlaceholder, truncate } from './text';
import { eventTitle } from './titles';

/** Slack's documented Block Kit limits, in characters (counted here as UTF-16 units, see text.ts). */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  contextElementText: 3000,
  text: 40000,
} as const;

export interface SlackTextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
}

export type SlackBlock =
  | { type: 'header'; text: SlackTextObject }
  | { type: 'section'; text: SlackTextObject; fields?: SlackTextObject[] }
  | { type: 'context'; elements: SlackTextObject[] };

export interface SlackMessage {
  /** Shown in notifications and by clients that cannot draw blocks. */
  text: string;
  blocks: SlackBlock[];
}

export function renderSlack(event: PublishedEvent): string {
  const title = eventTitle(event.type);
  const fields = keyFields(event.data).map((field) =>
    mrkdwn(
      `*${fitMrkdwn(field.name, KEY_FIELD_NAME_MAX)}*\n${fitMrkdwn(field.value, KEY_FIELD_VALUE_MAX)}`,
    ),
  );
  const workspace = fitMrkdwn(orPlaceholder(event.workspaceId), KEY_FIELD_VALUE_MAX);
  const message: SlackMessage = {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title } },
      {
        type: 'section',
        text: mrkdwn(`*Workspace:* ${workspace}`),
        ...(fields.length > 0 ? { fields } : {}),
      },
      // The type in code style, or mrkdwn would read `_sharing_` in it as italics.
      { type: 'context', elements: [mrkdwn(`\`${event.type}\` · ${event.timestamp}`)] },
    ],
  };
  return JSON.stringify(message);
}

function mrkdwn(text: string): SlackTextObject {
  return { type: 'mrkdwn', text };
}

/** Fits untrusted text into mrkdwn, escaped so it cannot form links or mentions such as <!channel>. */
function fitMrkdwn(text: string, max: number): string {
  return truncate(text, max, escapeMrkdwn);
}

// Slack asks for exactly these three to be escaped in mrkdwn:
// https://api.slack.com/reference/surfaces/formatting#escaping
function escapeMrkdwn(codePoint: string): string {
  switch (codePoint) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    default:
      return codePoint;
  }
}
