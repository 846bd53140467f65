import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import { WebhookEventType } from '../../common/webhook-event-types';
import {
  WEBHOOK_EVENT_STREAM_PREFIX,
  WebhookEvent,
  WebhookEventEvent,
  evolve,
} from '../../delivery/webhook-event';
import { RecordedEvent } from '../../eventstore/event-store';
import { FoldedProjection } from '../../projections/mongo/folded-projection';
import { FoldedModel, Versioned, insertOnce } from '../../projections/mongo/guarded-writes';
import {
  IndexSpec,
  NEWEST_FIRST,
  QuerySpec,
  SortedQuerySpec,
  ensureIndexes,
  findPage,
} from '../../projections/mongo/query-spec';
import {
  DeliveriesRepository,
  Delivery,
  DeliveryListQuery,
  WebhookEventListQuery,
} from '../deliveries.repository';

/**
 * A WebhookEvent's outcome and skipped flag folded into one key, so the events list filters on
 * one field: its indexes then cover every combination of filters with 8 indexes instead of 16.
 */
export type WebhookEventStatus = `${'pending' | 'succeeded' | 'failed'}${'' | ':skipped'}`;

export interface WebhookEventDoc extends Versioned, Omit<WebhookEvent, 'id'> {
  status: WebhookEventStatus;
}

/** One attempt, with what its filters need from its event copied in (they never change). */
export interface DeliveryDoc extends Versioned {
  webhookEventId: string;
  endpointId: string;
  workspaceId: string;
  eventType: WebhookEventType;
  createdAt: string;
  succeeded: boolean;
  httpCode: number | null;
  /** The code as text, for the `query` filter's substring match; null when unreachable. */
  httpCodeText: string | null;
  response: string | null;
  durationMs: number;
}

export const WEBHOOK_EVENTS_COLLECTION = 'webhook_events';
export const DELIVERIES_COLLECTION = 'deliveries';

function everySubset<T>(items: readonly T[]): T[][] {
  return items.reduce<T[][]>(
    (subsets, item) => [...subsets, ...subsets.map((s) => [...s, item])],
    [[]],
  );
}

/**
 * One index per subset of the optional equality filters, after the workspace every list has; then
 * the list order; then `after` (range filters): ESR. `$in` on several values still reads in index
 * order: MongoDB merges one index scan per value (up to 200 value combinations, beyond which it
 * sorts the matches in memory, bounded by the page).
 */
function equalityThenNewest(
  fields: readonly string[],
  after: Record<string, 1 | -1> = {},
): IndexSpec[] {
  return everySubset(fields).map((subset) => ({
    name: ['workspace', ...subset, 'newest'].join('_'),
    key: {
      workspaceId: 1,
      ...Object.fromEntries(subset.map((f) => [f, 1])),
      ...NEWEST_FIRST,
      ...after,
    },
  }));
}

export const WEBHOOK_EVENT_INDEXES: readonly IndexSpec[] = [
  // GET /events: workspace, then any of endpoint_id, event_type, succeeded/skipped (status).
  ...equalityThenNewest(['endpointId', 'eventType', 'status']),
  // The endpoint-health check: an endpoint's latest completed events.
  { name: 'completed_by_endpoint', key: { endpointId: 1, succeeded: 1, modifiedAt: -1 } },
];

export const DELIVERY_INDEXES: readonly IndexSpec[] = [
  // GET /deliveries: workspace, then any of endpoint_id, event_type, succeeded; created_at bounds
  // use the sort key, and http_code_class the trailing httpCode.
  ...equalityThenNewest(['endpointId', 'eventType', 'succeeded'], { httpCode: 1 }),
];

const OUTCOMES = ['pending', 'succeeded', 'failed'] as const;

export function statusOf(event: Pick<WebhookEvent, 'succeeded' | 'skipped'>): WebhookEventStatus {
  const outcome = event.succeeded === null ? 'pending' : event.succeeded ? 'succeeded' : 'failed';
  return event.skipped ? `${outcome}:skipped` : outcome;
}

/** The statuses the events list's `succeeded` and `skipped` filters accept; null: no filter. */
export function statusesMatching(
  succeeded: boolean | null | undefined,
  skipped: boolean | undefined,
): WebhookEventStatus[] | null {
  if (succeeded === undefined && skipped === undefined) return null;
  const outcomes = succeeded === undefined ? OUTCOMES : [statusOf({ succeeded, skipped: false })];
  const flags = skipped === undefined ? [false, true] : [skipped];
  return flags.flatMap((flag) =>
    outcomes.map((outcome) => (flag ? (`${outcome}:skipped` as const) : outcome)),
  ) as WebhookEventStatus[];
}

/** Matches `text` literally: every regular-expression metacharacter is escaped. */
export function literalPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Case-insensitive substring of the delivery id, the event id or the HTTP code. */
const TEXT_FIELDS = ['_id', 'webhookEventId', 'httpCodeText'] as const;

export const deliveryQueries = {
  eventById: (id: string): QuerySpec<WebhookEventDoc> => ({ filter: { _id: id } }),
  eventsByIds: (ids: readonly string[]): QuerySpec<WebhookEventDoc> => ({
    filter: { _id: { $in: ids } },
  }),

  events(query: Omit<WebhookEventListQuery, 'page'>): SortedQuerySpec<WebhookEventDoc> {
    const filter: Filter<WebhookEventDoc> = { workspaceId: { $in: query.workspaceIds } };
    if (query.endpointIds) filter.endpointId = { $in: query.endpointIds };
    if (query.eventTypes) filter.eventType = { $in: query.eventTypes };
    const statuses = statusesMatching(query.succeeded, query.skipped);
    if (statuses) filter.status = { $in: statuses };
    return { filter, sort: NEWEST_FIRST };
  },

  /**
   * The `query` text filter is the one condition no index serves: it is a post-filter (regular
   * expressions on the ids and the code) on the documents the indexed conditions narrowed to.
   */
  deliveries(query: Omit<DeliveryListQuery, 'page'>): SortedQuerySpec<DeliveryDoc> {
    const filter: Filter<DeliveryDoc> = { workspaceId: { $in: query.workspaceIds } };
    if (query.endpointIds) filter.endpointId = { $in: query.endpointIds };
    if (query.eventTypes) filter.eventType = { $in: query.eventTypes };
    if (query.succeeded !== undefined) filter.succeeded = query.succeeded;
    if (query.after !== undefined || query.before !== undefined) {
      filter.createdAt = {
        ...(query.after !== undefined && { $gt: new Date(query.after).toISOString() }),
        ...(query.before !== undefined && { $lt: new Date(query.before).toISOString() }),
      };
    }
    if (query.httpCodeClass) {
      // A number range: an unreachable attempt (null) never matches.
      const base = Number(query.httpCodeClass[0]) * 100;
      filter.httpCode = { $gte: base, $lt: base + 100 };
    }
    if (query.text !== undefined) {
      const pattern = literalPattern(query.text);
      filter.$or = TEXT_FIELDS.map((field) => ({ [field]: { $regex: pattern, $options: 'i' } }));
    }
    return { filter, sort: NEWEST_FIRST };
  },

  recentOutcomes: (endpointId: string, since: string): SortedQuerySpec<WebhookEventDoc> => ({
    filter: { endpointId, succeeded: { $in: [true, false] }, modifiedAt: { $gt: since } },
    sort: { modifiedAt: -1 },
  }),
};

export const webhookEventModel: FoldedModel<WebhookEvent, WebhookEventDoc> = {
  keyOf: (event) => String(event.data.webhookEventId),
  evolve: (state, event) => evolve(state, event as unknown as WebhookEventEvent),
  toDoc: ({ id, ...event }, position) => ({ _id: id, ...event, status: statusOf(event), position }),
  fromDoc: (doc) => ({
    id: doc._id,
    endpointId: doc.endpointId,
    workspaceId: doc.workspaceId,
    eventType: doc.eventType,
    payload: doc.payload,
    createdAt: doc.createdAt,
    modifiedAt: doc.modifiedAt,
    lastHttpCode: doc.lastHttpCode,
    succeeded: doc.succeeded,
    skipped: doc.skipped,
    isArchived: doc.isArchived,
  }),
};

/** The attempt a DeliveryAttempted records, for the event in `state`. */
export function deliveryDoc(recorded: RecordedEvent, state: WebhookEvent): DeliveryDoc {
  const d = (
    recorded as unknown as RecordedEvent & WebhookEventEvent & { type: 'DeliveryAttempted' }
  ).data;
  return {
    _id: d.deliveryId,
    webhookEventId: state.id,
    endpointId: d.endpointId,
    workspaceId: state.workspaceId,
    eventType: state.eventType,
    createdAt: d.attemptedAt,
    succeeded: d.succeeded,
    httpCode: d.httpCode,
    httpCodeText: d.httpCode === null ? null : String(d.httpCode),
    response: d.response,
    durationMs: d.durationMs,
    position: recorded.position,
  };
}

/**
 * The webhook events and deliveries read models in MongoDB. The webhook events are the folded
 * documents (`collection`); each attempt is inserted once into `deliveries`.
 */
export class MongoDeliveries
  extends FoldedProjection<WebhookEvent, WebhookEventDoc>
  implements DeliveriesRepository
{
  readonly name = 'deliveries';
  readonly filter = { streamPrefixes: [WEBHOOK_EVENT_STREAM_PREFIX] };
  private readonly deliveries: Collection<DeliveryDoc>;

  /** `suffix`: a replay's copy of the read model, on collections named with it. */
  constructor(db: Db, suffix = '') {
    super(db, `${WEBHOOK_EVENTS_COLLECTION}${suffix}`, webhookEventModel, WEBHOOK_EVENT_INDEXES);
    this.deliveries = db.collection<DeliveryDoc>(`${DELIVERIES_COLLECTION}${suffix}`);
  }

  override get collections(): readonly string[] {
    return [this.collection.collectionName, this.deliveries.collectionName];
  }

  /**
   * The events first, then their attempts: an attempt is only listed with its event, and after a
   * crash in between the batch is applied again (the events' guards skip, the inserts do nothing).
   */
  override async applyBatch(batch: readonly RecordedEvent[]): Promise<void> {
    const folded = await this.fold(batch);
    const attempts: AnyBulkWriteOperation<DeliveryDoc>[] = folded.flatMap(({ event, state }) =>
      event.type === 'DeliveryAttempted' && state ? [insertOnce(deliveryDoc(event, state))] : [],
    );
    if (attempts.length > 0) await this.deliveries.bulkWrite(attempts, { ordered: false });
  }

  override async reset(): Promise<void> {
    await Promise.all([this.deliveries.deleteMany({}), super.reset()]);
  }

  override async ensureIndexes(): Promise<void> {
    await Promise.all([super.ensureIndexes(), ensureIndexes(this.deliveries, DELIVERY_INDEXES)]);
  }

  findEvent(id: string): Promise<WebhookEvent | null> {
    return this.findOne(deliveryQueries.eventById(id));
  }

  async hasEvent(id: string): Promise<boolean> {
    const { filter } = deliveryQueries.eventById(id);
    return (await this.collection.findOne(filter, { projection: { _id: 1 } })) !== null;
  }

  async recentOutcomes(endpointId: string, count: number, since: string): Promise<boolean[]> {
    const { filter, sort } = deliveryQueries.recentOutcomes(endpointId, since);
    const docs = await this.collection
      .find(filter, { projection: { succeeded: 1 } })
      .sort(sort)
      .limit(count)
      .toArray();
    return docs.map((doc) => doc.succeeded === true);
  }

  async listEvents(
    query: WebhookEventListQuery,
  ): Promise<{ items: WebhookEvent[]; total: number }> {
    if (query.workspaceIds.length === 0) return { items: [], total: 0 };
    return this.findPage(deliveryQueries.events(query), query.page);
  }

  async list(query: DeliveryListQuery): Promise<{ items: Delivery[]; total: number }> {
    if (query.workspaceIds.length === 0) return { items: [], total: 0 };
    const { docs, total } = await findPage(
      this.deliveries,
      deliveryQueries.deliveries(query),
      query.page,
    );
    // Each attempt shows its event as it is now (one read for the page).
    const ids = [...new Set(docs.map((d) => d.webhookEventId))];
    const events = await this.findAll(deliveryQueries.eventsByIds(ids));
    const byId = new Map(events.map((event) => [event.id, event]));
    const items = docs.flatMap((doc) => {
      const webhookEvent = byId.get(doc.webhookEventId);
      return webhookEvent ? [toDelivery(doc, webhookEvent)] : [];
    });
    return { items, total };
  }
}

function toDelivery(doc: DeliveryDoc, webhookEvent: WebhookEvent): Delivery {
  return {
    id: doc._id,
    createdAt: doc.createdAt,
    endpointId: doc.endpointId,
    succeeded: doc.succeeded,
    httpCode: doc.httpCode,
    response: doc.response,
    durationMs: doc.durationMs,
    webhookEvent,
  };
}
