/**
 * Independent checks of a rendered chat message against each platform's documented limits, as a
 * list of violations so a failing property test says what broke.
 */
import { DISCORD_LIMITS, DiscordMessage } from '../discord';
import { SLACK_LIMITS, SlackMessage, SlackTextObject } from '../slack';

/** With the `u` flag a surrogate pair is one code point, so this matches only lone surrogates. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Every string anywhere in a parsed JSON value. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) => [key, ...stringsIn(inner)]);
  }
  return [];
}

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Problems a platform would reject, or that would show garbled text, in a rendered body. */
function commonViolations(body: string): string[] {
  const parsed: unknown = JSON.parse(body);
  return stringsIn(parsed)
    .filter(hasLoneSurrogate)
    .map((text) => `lone surrogate in ${JSON.stringify(text.slice(0, 40))}`);
}

export function discordViolations(body: string): string[] {
  const violations = commonViolations(body);
  const check = (ok: boolean, what: string) => {
    if (!ok) violations.push(what);
  };
  const message = JSON.parse(body) as DiscordMessage;
  check(
    message.content === undefined || message.content.length <= DISCORD_LIMITS.content,
    'content',
  );
  check(message.embeds.length >= 1 || Boolean(message.content), 'empty message');
  check(message.embeds.length <= DISCORD_LIMITS.embeds, 'too many embeds');
  let total = 0;
  for (const embed of message.embeds) {
    check(embed.title.trim().length > 0, 'blank title');
    check(embed.title.length <= DISCORD_LIMITS.title, `title of ${embed.title.length}`);
    const description = embed.description ?? '';
    check(description.length <= DISCORD_LIMITS.description, 'description');
    check(embed.fields.length <= DISCORD_LIMITS.fields, `${embed.fields.length} fields`);
    for (const field of embed.fields) {
      check(field.name.trim().length > 0, 'blank field name');
      check(field.value.trim().length > 0, `blank value of field ${field.name}`);
      check(field.name.length <= DISCORD_LIMITS.fieldName, `field name of ${field.name.length}`);
      check(
        field.value.length <= DISCORD_LIMITS.fieldValue,
        `field value of ${field.value.length}`,
      );
      total += field.name.length + field.value.length;
    }
    const footer = embed.footer?.text ?? '';
    check(footer.length <= DISCORD_LIMITS.footerText, 'footer text');
    check(new Date(embed.timestamp).toISOString() === embed.timestamp, 'timestamp not ISO 8601');
    check(
      embed.color === undefined || (Number.isInteger(embed.color) && embed.color <= 0xffffff),
      'color',
    );
    total += embed.title.length + description.length + footer.length;
  }
  check(total <= DISCORD_LIMITS.embedsTotal, `embeds total of ${total}`);
  return violations;
}

export function slackViolations(body: string): string[] {
  const violations = commonViolations(body);
  const check = (ok: boolean, what: string) => {
    if (!ok) violations.push(what);
  };
  const checkText = (text: SlackTextObject, max: number, where: string) => {
    check(text.text.trim().length > 0, `blank ${where}`);
    check(text.text.length <= max, `${where} of ${text.text.length}`);
    if (text.type === 'mrkdwn') {
      // Our messages contain no links or mentions, so every <, > and & must be escaped.
      check(!/[<>]|&(?!amp;|lt;|gt;)/.test(text.text), `unescaped mrkdwn in ${where}`);
    }
  };
  const message = JSON.parse(body) as SlackMessage;
  check(message.text.trim().length > 0 && message.text.length <= SLACK_LIMITS.text, 'text');
  check(message.blocks.length <= SLACK_LIMITS.blocks, `${message.blocks.length} blocks`);
  for (const block of message.blocks) {
    switch (block.type) {
      case 'header':
        check(block.text.type === 'plain_text', 'header text must be plain_text');
        checkText(block.text, SLACK_LIMITS.headerText, 'header');
        break;
      case 'section':
        checkText(block.text, SLACK_LIMITS.sectionText, 'section text');
        if (block.fields !== undefined) {
          check(block.fields.length >= 1, 'empty fields array');
          check(block.fields.length <= SLACK_LIMITS.sectionFields, `${block.fields.length} fields`);
          for (const field of block.fields) {
            checkText(field, SLACK_LIMITS.sectionFieldText, 'section field');
          }
        }
        break;
      case 'context':
        check(block.elements.length >= 1, 'empty context');
        check(block.elements.length <= SLACK_LIMITS.contextElements, 'context elements');
        for (const element of block.elements) {
          checkText(element, SLACK_LIMITS.contextElementText, 'context element');
        }
        break;
    }
  }
  return violations;
}
