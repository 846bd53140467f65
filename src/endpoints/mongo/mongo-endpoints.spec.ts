import { RecordedEvent } from '../../eventstore/event-store';
import { describeQuery, servingIndex } from '../../projections/mongo/testing/index-coverage';
import { QuerySpec } from '../../projections/mongo/query-spec';
import { ENDPOINT_INDEXES, EndpointDoc, endpointModel, endpointQueries } from './mongo-endpoints';

describe('Mongo endpoints read model', () => {
  it('has an index for every query: by id, a workspace list newest first (and its count), targets', () => {
    const queries: QuerySpec<EndpointDoc>[] = [
      endpointQueries.byId('e1'),
      endpointQueries.liveInWorkspaces(['w1']),
      endpointQueries.liveInWorkspaces(['w1', 'w2', 'w3']),
      { filter: endpointQueries.liveInWorkspaces(['w1', 'w2']).filter },
      endpointQueries.liveInWorkspace('w1'),
    ];
    for (const query of queries) {
      expect([describeQuery(query), servingIndex(query, ENDPOINT_INDEXES)?.name]).toEqual([
        describeQuery(query),
        expect.any(String),
      ]);
    }
    expect(servingIndex(endpointQueries.liveInWorkspaces(['w1']), ENDPOINT_INDEXES)?.name).toBe(
      'live_by_workspace_newest_first',
    );
  });

  it('stores the endpoint with deleted and its position, and reads it back unchanged', () => {
    const created = {
      position: 3,
      streamId: 'webhook_endpoint-e1',
      revision: 0,
      type: 'WebhookEndpointCreated',
      data: {
        endpointId: 'e1',
        workspaceId: 'w1',
        url: 'https://example.com/hook',
        format: 'raw',
        events: ['customer.created'],
        secret: 'whsec_x',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      metadata: {},
      recordedAt: '2026-01-01T00:00:00.000Z',
    } satisfies RecordedEvent;
    const deleted = {
      ...created,
      position: 5,
      revision: 1,
      type: 'WebhookEndpointDeleted',
      data: { endpointId: 'e1', deletedAt: '2026-01-02T00:00:00.000Z' },
    } satisfies RecordedEvent;

    const live = endpointModel.evolve(null, created)!;
    expect(endpointModel.toDoc(live, 3)).toMatchObject({ _id: 'e1', deleted: false, position: 3 });
    expect(endpointModel.fromDoc(endpointModel.toDoc(live, 3))).toEqual(live);
    const gone = endpointModel.evolve(live, deleted)!;
    expect(endpointModel.toDoc(gone, 5)).toMatchObject({ deleted: true, position: 5 });
    expect(endpointModel.keyOf(deleted)).toBe('e1');
  });
});
