/**
 * The `discord` format: a Discord webhook message with one embed per event.
 * https://discord.com/developers/docs/resources/message#embed-object-embed-limits
 */
import { WebhookEventType } from '../../common/webhook-event-types';
import { KEY_FIELD_NAME_MAX, KEY_FIELD_VALUE_MAX, keyFields } from './key-fields';
import { PublishedEvent } from './published-event';
import { orPlaceholder, truncate } from './text';
import { eventTitle } from './titles';

/** Discord's documented limits, in characters (counted here as UTF-16 units, see text.ts). */
export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  /** Sum of titles, descriptions, field names and values and footer texts over all embeds. */
  embedsTotal: 6000,
} as const;

export interface DiscordEmbedField {
  name: string;
  value: string;
  inline?: boolean;
}

export interface DiscordEmbed {
  title: string;
  description?: string;
  color?: number;
  fields: DiscordEmbedField[];
  timestamp: string;
  footer?: { text: string };
}

export interface DiscordMessage {
  content?: string;
  embeds: DiscordEmbed[];
}

const GREEN = 0x2ecc71;
const BLUE = 0x3498db;
const RED = 0xe74c3c;
const ORANGE = 0xe67e22;
const GREY = 0x95a5a6;
const GOLD = 0xf1c40f;

const EVENT_COLORS: Record<WebhookEventType, number> = {
  'customer.created': GREEN,
  'customer.updated': BLUE,
  'customer.deleted': RED,
  'customer.state_changed': ORANGE,
  'share.created': GREEN,
  'share.updated': BLUE,
  'workspace.updated': BLUE,
  'file_sharing_session.created': GREEN,
  'file_sharing_session.download_completed': GREEN,
  'file_sharing_session.expired': GREY,
  'file_sharing_session.payment_received': GOLD,
};

/** Values this short read well side by side; longer ones get a row of their own. */
const INLINE_VALUE_MAX = 40;

export function renderDiscord(event: PublishedEvent): string {
  const workspace: DiscordEmbedField = {
    name: 'Workspace',
    value: truncate(orPlaceholder(event.workspaceId), KEY_FIELD_VALUE_MAX),
    inline: false,
  };
  const dataFields = keyFields(event.data).map((field): DiscordEmbedField => {
    const value = truncate(field.value, KEY_FIELD_VALUE_MAX);
    return {
      name: truncate(field.name, KEY_FIELD_NAME_MAX),
      value,
      inline: value.length <= INLINE_VALUE_MAX,
    };
  });
  const message: DiscordMessage = {
    embeds: [
      {
        title: eventTitle(event.type),
        color: EVENT_COLORS[event.type],
        fields: [workspace, ...dataFields],
        timestamp: event.timestamp,
        footer: { text: event.type },
      },
    ],
  };
  return JSON.stringify(message);
}
