import { RecordedEvent } from '../../eventstore/event-store';
import {
  describeQuery,
  everyCombination,
  servingIndex,
  shapeOf,
} from '../../projections/mongo/testing/index-coverage';
import { QuerySpec } from '../../projections/mongo/query-spec';
import { DeliveryListQuery, WebhookEventListQuery } from '../deliveries.repository';
import {
  DELIVERY_INDEXES,
  WEBHOOK_EVENT_INDEXES,
  deliveryDoc,
  deliveryQueries,
  literalPattern,
  statusOf,
  statusesMatching,
  webhookEventModel,
} from './mongo-deliveries';

const WORKSPACES = [['w1'], ['w1', 'w2']];

function expectServed<T>(query: QuerySpec<T>, indexes: Parameters<typeof servingIndex>[1]): void {
  const index = servingIndex(query, indexes);
  if (!index) throw new Error(`No index serves ${describeQuery(query)}`);
  // The count of the same filter (the list's total) is served too.
  if (!servingIndex({ filter: query.filter }, indexes)) {
    throw new Error(`No index serves the count of ${describeQuery(query)}`);
  }
}

describe('GET /deliveries queries and their indexes', () => {
  type Filters = Omit<DeliveryListQuery, 'page' | 'workspaceIds'>;
  const combinations = everyCombination<Filters>([
    { endpointIds: ['e1', 'e2'] },
    { eventTypes: ['customer.created', 'share.created'] },
    { succeeded: false },
    { after: Date.parse('2026-01-01T00:00:00Z') },
    { before: Date.parse('2026-02-01T00:00:00Z') },
    { httpCodeClass: '4xx' },
    { text: '40' },
  ]);

  it('has an index for every combination of filters, sorted newest first, and its count', () => {
    expect(combinations).toHaveLength(128);
    const used = new Set<string>();
    for (const workspaceIds of WORKSPACES) {
      for (const filters of combinations) {
        const query = deliveryQueries.deliveries({ workspaceIds, ...filters });
        expectServed(query, DELIVERY_INDEXES);
        used.add(servingIndex(query, DELIVERY_INDEXES)!.name);
        // Only the text filter is left to a post-filter.
        expect(shapeOf(query).residual).toEqual(
          filters.text === undefined ? [] : ['_id', 'webhookEventId', 'httpCodeText'],
        );
      }
    }
    // No index is dead weight.
    expect([...used].sort()).toEqual(DELIVERY_INDEXES.map((i) => i.name).sort());
  });

  it('builds each filter as the embedded engine reads it', () => {
    const { filter, sort } = deliveryQueries.deliveries({
      workspaceIds: ['w1'],
      endpointIds: ['e1'],
      eventTypes: ['customer.created'],
      succeeded: true,
      after: Date.parse('2026-01-01T00:00:00.000Z'),
      before: Date.parse('2026-01-02T00:00:00.005Z'),
      httpCodeClass: '5xx',
      text: 'AbC',
    });
    expect(sort).toEqual({ createdAt: -1, _id: -1 });
    expect(filter).toEqual({
      workspaceId: { $in: ['w1'] },
      endpointId: { $in: ['e1'] },
      eventType: { $in: ['customer.created'] },
      succeeded: true,
      // Exclusive bounds, compared as the stored ISO strings are.
      createdAt: { $gt: '2026-01-01T00:00:00.000Z', $lt: '2026-01-02T00:00:00.005Z' },
      httpCode: { $gte: 500, $lt: 600 },
      $or: [
        { _id: { $regex: 'AbC', $options: 'i' } },
        { webhookEventId: { $regex: 'AbC', $options: 'i' } },
        { httpCodeText: { $regex: 'AbC', $options: 'i' } },
      ],
    });
    expect(deliveryQueries.deliveries({ workspaceIds: ['w1'], before: 0 }).filter).toEqual({
      workspaceId: { $in: ['w1'] },
      createdAt: { $lt: '1970-01-01T00:00:00.000Z' },
    });
  });
});

describe('GET /events queries and their indexes', () => {
  type Filters = Omit<WebhookEventListQuery, 'page' | 'workspaceIds'>;
  const optional = everyCombination<Filters>([
    { endpointIds: ['e1', 'e2'] },
    { eventTypes: ['customer.created'] },
  ]);
  const outcomes: Filters[] = [{}, { succeeded: true }, { succeeded: false }, { succeeded: null }];
  const skipped: Filters[] = [{}, { skipped: true }, { skipped: false }];

  it('has an index for every combination of filters, sorted newest first, and its count', () => {
    const used = new Set<string>();
    for (const workspaceIds of WORKSPACES) {
      for (const base of optional) {
        for (const outcome of outcomes) {
          for (const skip of skipped) {
            const query = deliveryQueries.events({ workspaceIds, ...base, ...outcome, ...skip });
            expectServed(query, WEBHOOK_EVENT_INDEXES);
            used.add(servingIndex(query, WEBHOOK_EVENT_INDEXES)!.name);
            expect(shapeOf(query).residual).toEqual([]);
          }
        }
      }
    }
    const recent = deliveryQueries.recentOutcomes('e1', '2026-01-01T00:00:00.000Z');
    expectServed(recent, WEBHOOK_EVENT_INDEXES);
    used.add(servingIndex(recent, WEBHOOK_EVENT_INDEXES)!.name);
    expect([...used].sort()).toEqual(WEBHOOK_EVENT_INDEXES.map((i) => i.name).sort());
  });

  it('serves the lookups by id with the _id index', () => {
    expect(servingIndex(deliveryQueries.eventById('x'), [])?.name).toBe('_id_');
    expect(servingIndex(deliveryQueries.eventsByIds(['x', 'y']), [])?.name).toBe('_id_');
  });

  it('turns succeeded (true, false, null for pending) and skipped into the statuses they accept', () => {
    expect(statusesMatching(undefined, undefined)).toBeNull();
    expect(statusesMatching(true, undefined)).toEqual(['succeeded', 'succeeded:skipped']);
    expect(statusesMatching(null, undefined)).toEqual(['pending', 'pending:skipped']);
    expect(statusesMatching(undefined, true)).toEqual([
      'pending:skipped',
      'succeeded:skipped',
      'failed:skipped',
    ]);
    expect(statusesMatching(undefined, false)).toEqual(['pending', 'succeeded', 'failed']);
    expect(statusesMatching(false, false)).toEqual(['failed']);
    expect(statusesMatching(false, true)).toEqual(['failed:skipped']);
  });

  it('gives each event the status its succeeded and skipped fields say, and the filters agree', () => {
    for (const succeeded of [true, false, null]) {
      for (const skipped of [true, false]) {
        const status = statusOf({ succeeded, skipped });
        for (const wanted of [true, false, null, undefined]) {
          for (const wantedSkipped of [true, false, undefined]) {
            const statuses = statusesMatching(wanted, wantedSkipped);
            const matches =
              (wanted === undefined || wanted === succeeded) &&
              (wantedSkipped === undefined || wantedSkipped === skipped);
            expect(statuses === null || statuses.includes(status)).toBe(matches);
          }
        }
      }
    }
  });
});

describe('text filter', () => {
  it('matches the text literally, case-insensitively, whatever regular-expression characters it holds', () => {
    const texts = [
      '%',
      '_',
      '.',
      'a.b',
      '(x)',
      '[a-z]',
      '\\d',
      '$',
      '^4',
      '*',
      '+?',
      '{1}',
      '|',
      '/',
    ];
    for (const text of texts) {
      const pattern = new RegExp(literalPattern(text), 'i');
      expect(pattern.test(`pre${text.toUpperCase()}post`)).toBe(true);
      expect(pattern.test(`pre${text}post`)).toBe(true);
    }
    expect(new RegExp(literalPattern('.'), 'i').test('abc')).toBe(false);
    expect(new RegExp(literalPattern('[a-z]'), 'i').test('q')).toBe(false);
    expect(new RegExp(literalPattern('\\d'), 'i').test('4')).toBe(false);
    expect(new RegExp(literalPattern('^4'), 'i').test('404')).toBe(false);
  });
});

describe('documents', () => {
  const created = {
    position: 7,
    streamId: 'webhook_event-ev1',
    revision: 0,
    type: 'WebhookEventCreated',
    data: {
      webhookEventId: 'ev1',
      endpointId: 'e1',
      workspaceId: 'w1',
      publicationId: 'p1',
      eventType: 'customer.created',
      payload: '{"$set":"not an operator"}',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    metadata: {},
    recordedAt: '2026-01-01T00:00:00.000Z',
  } satisfies RecordedEvent;

  it('stores a webhook event with its status and position, and reads it back unchanged', () => {
    const state = webhookEventModel.evolve(null, created)!;
    const doc = webhookEventModel.toDoc(state, 7);
    expect(doc).toMatchObject({ _id: 'ev1', status: 'pending', position: 7 });
    expect(webhookEventModel.fromDoc(doc)).toEqual(state);
  });

  it('records an attempt with the fields its filters need, the code also as text', () => {
    const state = webhookEventModel.evolve(null, created)!;
    const attempt = {
      ...created,
      position: 9,
      type: 'DeliveryAttempted',
      data: {
        webhookEventId: 'ev1',
        deliveryId: 'd1',
        endpointId: 'e1',
        succeeded: false,
        httpCode: 404,
        response: 'Not Found',
        durationMs: 12,
        attemptedAt: '2026-01-01T00:00:01.000Z',
        retryAt: '2026-01-01T00:00:06.000Z',
      },
    } satisfies RecordedEvent;
    expect(deliveryDoc(attempt, state)).toEqual({
      _id: 'd1',
      webhookEventId: 'ev1',
      endpointId: 'e1',
      workspaceId: 'w1',
      eventType: 'customer.created',
      createdAt: '2026-01-01T00:00:01.000Z',
      succeeded: false,
      httpCode: 404,
      httpCodeText: '404',
      response: 'Not Found',
      durationMs: 12,
      position: 9,
    });
    const unreachable = { ...attempt, data: { ...attempt.data, httpCode: null } };
    expect(deliveryDoc(unreachable, state)).toMatchObject({ httpCode: null, httpCodeText: null });
  });
});
