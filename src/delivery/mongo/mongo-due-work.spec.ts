import { RecordedEvent } from '../../eventstore/event-store';
import {
  describeQuery,
  servingIndex,
  shapeOf,
} from '../../projections/mongo/testing/index-coverage';
import { QuerySpec } from '../../projections/mongo/query-spec';
import {
  DUE_WORK_INDEXES,
  DueWorkDoc,
  RELEASE_LEASE,
  dueWorkQueries,
  dueWorkWrite,
  leaseUpdate,
} from './mongo-due-work';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

function recorded(type: string, data: Record<string, unknown>, position = 10): RecordedEvent {
  return {
    position,
    streamId: `webhook_event-${String(data.webhookEventId)}`,
    revision: 0,
    type,
    data,
    metadata: {},
    recordedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('Mongo due-work queries and their indexes', () => {
  const queries: Array<[string, QuerySpec<DueWorkDoc>]> = [
    ['claim', dueWorkQueries.claimable(NOW, [])],
    ['claim, some endpoints blocked', dueWorkQueries.claimable(NOW, ['e1', 'e2'])],
    ['next unleased', dueWorkQueries.nextUnleased(NOW, [])],
    ['next unleased, some endpoints blocked', dueWorkQueries.nextUnleased(NOW, ['e1'])],
    ['earliest live lease', dueWorkQueries.liveLeases(NOW)],
    ["others' leases", dueWorkQueries.leasedByOthers(NOW, 'replica-a')],
    ['own leases (release)', dueWorkQueries.ownLeases('replica-a')],
    ['pending for an endpoint', dueWorkQueries.pendingFor('e1')],
    ['depth', dueWorkQueries.pending()],
    ['lease one item', dueWorkQueries.leaseable('ev1', NOW)],
  ];

  it.each(queries)('serves "%s" with a declared index', (_name, query) => {
    if (!servingIndex(query, DUE_WORK_INDEXES)) {
      throw new Error(`No index serves ${describeQuery(query)}`);
    }
  });

  it('leaves only the blocked-endpoint exclusion to a post-filter, and uses every index', () => {
    for (const [name, query] of queries) {
      const expected = name.includes('blocked') ? ['attemptsMade', 'endpointId'] : [];
      expect([name, shapeOf(query).residual]).toEqual([name, expected]);
    }
    const used = new Set(queries.map(([, q]) => servingIndex(q, DUE_WORK_INDEXES)!.name));
    const ttl = DUE_WORK_INDEXES.filter((i) => i.expireAfterSeconds !== undefined);
    expect(ttl.map((i) => i.key)).toEqual([{ removedAt: 1 }]);
    expect([...used, ...ttl.map((i) => i.name)].filter((n) => n !== '_id_').sort()).toEqual(
      DUE_WORK_INDEXES.map((i) => i.name).sort(),
    );
  });

  it('claims due, unleased items in due order, skipping first attempts of blocked endpoints', () => {
    expect(dueWorkQueries.claimable(NOW, ['e1'])).toEqual({
      filter: {
        pending: true,
        dueAt: { $lte: NOW },
        leaseUntil: { $lte: NOW },
        $nor: [{ attemptsMade: 0, endpointId: { $in: ['e1'] } }],
      },
      sort: { dueAt: 1, seq: 1 },
    });
    // An expired lease (leaseUntil <= now) is claimable again; a live one is not.
    expect(dueWorkQueries.leaseable('ev1', NOW).filter).toEqual({
      _id: 'ev1',
      pending: true,
      dueAt: { $lte: NOW },
      leaseUntil: { $lte: NOW },
    });
    expect(dueWorkQueries.leasedByOthers(NOW, 'a').filter).toEqual({
      pending: true,
      leaseUntil: { $gt: NOW },
      leaseOwner: { $ne: 'a' },
    });
    expect(leaseUpdate('a', NOW + 5000)).toEqual({
      $set: { leaseOwner: 'a', leaseUntil: NOW + 5000 },
    });
    expect(RELEASE_LEASE).toEqual({ $set: { leaseOwner: null, leaseUntil: 0 } });
  });
});

describe('Mongo due-work projection writes', () => {
  const created = recorded(
    'WebhookEventCreated',
    {
      webhookEventId: 'ev1',
      endpointId: 'e1',
      workspaceId: 'w1',
      publicationId: 'p1',
      eventType: 'customer.created',
      payload: '{}',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    12,
  );

  it('schedules a new event as a fresh pending item, replacing an older document only', () => {
    expect(dueWorkWrite(created)).toEqual({
      updateOne: {
        filter: { _id: 'ev1' },
        upsert: true,
        update: [
          {
            $replaceWith: {
              $cond: {
                if: { $lt: [{ $ifNull: ['$position', -1] }, 12] },
                then: {
                  $literal: {
                    _id: 'ev1',
                    endpointId: 'e1',
                    pending: true,
                    dueAt: NOW,
                    seq: 12,
                    attemptsMade: 0,
                    leaseOwner: null,
                    leaseUntil: 0,
                    removedAt: null,
                    position: 12,
                  },
                },
                else: '$$ROOT',
              },
            },
          },
        ],
      },
    });
  });

  it('reschedules a failed attempt with a retry, once, only while pending, ending its lease', () => {
    const attempt = recorded(
      'DeliveryAttempted',
      {
        webhookEventId: 'ev1',
        deliveryId: 'd1',
        endpointId: 'e1',
        succeeded: false,
        httpCode: 500,
        response: null,
        durationMs: 3,
        attemptedAt: '2026-01-01T00:00:01.000Z',
        retryAt: '2026-01-01T00:00:06.000Z',
      },
      15,
    );
    expect(dueWorkWrite(attempt)).toEqual({
      updateOne: {
        filter: { _id: 'ev1' },
        update: [
          {
            $replaceWith: {
              $cond: {
                if: {
                  $and: [
                    { $lt: [{ $ifNull: ['$position', -1] }, 15] },
                    { $eq: ['$pending', true] },
                  ],
                },
                then: {
                  $mergeObjects: [
                    '$$ROOT',
                    {
                      $literal: {
                        dueAt: NOW + 6000,
                        leaseOwner: null,
                        leaseUntil: 0,
                        position: 15,
                      },
                    },
                    { attemptsMade: { $add: ['$attemptsMade', 1] } },
                  ],
                },
                else: '$$ROOT',
              },
            },
          },
        ],
      },
    });
  });

  it('turns the item into a tombstone when the event is done: success, budget spent, skip, archive', () => {
    const endings = [
      recorded('DeliveryAttempted', { webhookEventId: 'ev1', retryAt: null }, 20),
      recorded('WebhookEventFailed', { webhookEventId: 'ev1' }, 20),
      recorded('WebhookEventSkipped', { webhookEventId: 'ev1' }, 20),
      recorded('WebhookEventArchived', { webhookEventId: 'ev1' }, 20),
    ];
    for (const ending of endings) {
      const write = dueWorkWrite(ending);
      expect(write).toMatchObject({ updateOne: { filter: { _id: 'ev1' } } });
      const update = (write as { updateOne: { update: unknown[]; upsert?: boolean } }).updateOne;
      expect(update.upsert).toBeUndefined();
      expect(update.update).toEqual([
        {
          $replaceWith: {
            $cond: {
              if: { $lt: [{ $ifNull: ['$position', -1] }, 20] },
              then: {
                $mergeObjects: [
                  '$$ROOT',
                  {
                    $literal: {
                      pending: false,
                      leaseOwner: null,
                      leaseUntil: 0,
                      removedAt: expect.any(Date),
                      position: 20,
                    },
                  },
                ],
              },
              else: '$$ROOT',
            },
          },
        },
      ]);
    }
  });

  it('reschedules a redelivery due at its request, in log order', () => {
    const redelivery = recorded(
      'WebhookEventRedeliveryRequested',
      { webhookEventId: 'ev1', endpointId: 'e1', requestedAt: '2026-01-01T00:01:00.000Z' },
      30,
    );
    expect(dueWorkWrite(redelivery)).toMatchObject({
      updateOne: {
        upsert: true,
        update: [
          {
            $replaceWith: {
              $cond: {
                then: {
                  $literal: {
                    pending: true,
                    dueAt: NOW + 60_000,
                    seq: 30,
                    attemptsMade: 0,
                    leaseUntil: 0,
                    position: 30,
                  },
                },
              },
            },
          },
        ],
      },
    });
  });
});
