import fc from 'fast-check';
import { uuidv7 } from '../../src/common/ids';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../../src/common/webhook-event-types';
import { WebhookEventEvent, webhookEventStream } from '../../src/delivery/webhook-event';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/**
 * The deliveries read side over a seeded history. The history is appended to the event store
 * as the delivery engine records it (WebhookEventCreated, DeliveryAttempted, ...), and every
 * query is compared with an in-test oracle computed from the same seed.
 */
interface SeededAttempt {
  id: string;
  eventId: string;
  endpointId: string;
  workspaceId: string;
  eventType: WebhookEventType;
  createdAt: string;
  succeeded: boolean;
  httpCode: number | null;
}

describe('GET /api/webhooks/deliveries and POST /api/webhooks/events/{id}/redeliver', () => {
  let t: TestApp;
  let token: string;
  let otherToken: string;
  let workspaceId: string;
  const endpoints: string[] = [];
  const attempts: SeededAttempt[] = [];
  const eventIds: string[] = [];
  const base = Date.parse('2026-01-01T00:00:00.000Z');

  beforeAll(async () => {
    t = await startTestApp();
    ({ token, workspaceId } = await t.workspaceToken());
    ({ token: otherToken } = await t.workspaceToken());
    for (let i = 0; i < 4; i++) {
      const response = await t.http
        .post('/api/webhooks/endpoints')
        .set(bearer(token))
        .send({ url: `https://example.com/${i}`, format: 'raw', events: [...WEBHOOK_EVENT_TYPES] })
        .expect(201);
      endpoints.push(response.body.id);
    }
    // No 410 here: a 410 disables the endpoint, which the delivery tests cover.
    const codes = [200, 201, 204, 301, 302, 400, 404, 418, 429, 500, 502, 503, null];
    const EVENTS = 420; // about 1,050 attempts
    const appends: Array<Promise<{ position: number }>> = [];
    for (let e = 0; e < EVENTS; e++) {
      const eventId = uuidv7();
      eventIds.push(eventId);
      const endpointId = endpoints[e % endpoints.length];
      const eventType = WEBHOOK_EVENT_TYPES[(e * 7) % WEBHOOK_EVENT_TYPES.length];
      const events: WebhookEventEvent[] = [
        {
          type: 'WebhookEventCreated',
          data: {
            webhookEventId: eventId,
            endpointId,
            workspaceId,
            publicationId: uuidv7(),
            eventType,
            payload: JSON.stringify({ type: eventType, data: { n: e } }),
            createdAt: new Date(base + e * 60_000).toISOString(),
          },
        },
      ];
      for (let a = 0; a < 1 + (e % 4); a++) {
        const httpCode = codes[(e * 3 + a * 5) % codes.length];
        const attempt: SeededAttempt = {
          id: uuidv7(),
          eventId,
          endpointId,
          workspaceId,
          eventType,
          createdAt: new Date(base + e * 60_000 + a * 1000).toISOString(),
          succeeded: httpCode !== null && httpCode >= 200 && httpCode < 300,
          httpCode,
        };
        attempts.push(attempt);
        events.push({
          type: 'DeliveryAttempted',
          data: {
            webhookEventId: eventId,
            deliveryId: attempt.id,
            endpointId,
            succeeded: attempt.succeeded,
            httpCode,
            response: httpCode === null ? 'connect ECONNREFUSED' : 'ok',
            durationMs: 5 + a,
            attemptedAt: attempt.createdAt,
            retryAt: null,
          },
        });
      }
      appends.push(t.engine.eventStore.append(webhookEventStream(eventId), events, 'no_stream'));
    }
    const results = await Promise.all(appends);
    await t.engine.projections.waitFor(Math.max(...results.map((r) => r.position)));
    expect(attempts.length).toBeGreaterThanOrEqual(1000);
  });
  afterAll(() => t.close());

  const listAll = async (query: Record<string, string | string[]>, auth = token) => {
    const ids: string[] = [];
    let total = -1;
    for (let page = 1; ; page++) {
      const response = await t.http
        .get('/api/webhooks/deliveries')
        .query({ ...query, page: String(page), limit: '100' })
        .set(bearer(auth))
        .expect(200);
      total = response.body.meta.total;
      ids.push(...response.body.data.map((d: { id: string }) => d.id));
      if (page >= response.body.meta.pages) break;
    }
    expect(ids).toHaveLength(total);
    return ids;
  };
  const newestFirst = (list: SeededAttempt[]) =>
    [...list]
      .sort((a, b) =>
        a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
      )
      .map((a) => a.id);

  it('lists every attempt newest first with the nested event', async () => {
    const response = await t.http.get('/api/webhooks/deliveries').set(bearer(token)).expect(200);
    expect(response.body.meta).toEqual({
      total: attempts.length,
      page: 1,
      per_page: 10,
      pages: Math.ceil(attempts.length / 10),
    });
    const newest = attempts.find((a) => a.id === newestFirst(attempts)[0])!;
    expect(response.body.data[0]).toEqual({
      id: newest.id,
      created_at: newest.createdAt,
      modified_at: null,
      webhook_endpoint_id: newest.endpointId,
      succeeded: newest.succeeded,
      http_code: newest.httpCode,
      response: newest.httpCode === null ? 'connect ECONNREFUSED' : 'ok',
      duration_ms: expect.any(Number),
      webhook_event: expect.objectContaining({
        id: newest.eventId,
        type: newest.eventType,
        is_archived: false,
      }),
    });
    expect(await listAll({})).toEqual(newestFirst(attempts));
  });

  it('shows another workspace nothing', async () => {
    expect(await listAll({}, otherToken)).toEqual([]);
    expect(await listAll({ endpoint_id: endpoints[0] }, otherToken)).toEqual([]);
  });

  it('matches the oracle for every filter alone and combined', async () => {
    const codeClass = (c: number | null) => (c === null ? null : `${Math.floor(c / 100)}xx`);
    const filterArb = fc.record(
      {
        endpoint_id: fc.subarray(endpoints, { minLength: 1 }),
        start_timestamp: fc
          .integer({ min: -5, max: 425 })
          .map((m) => new Date(base + m * 60_000 + 500).toISOString()),
        end_timestamp: fc
          .integer({ min: -5, max: 425 })
          .map((m) => new Date(base + m * 60_000 + 500).toISOString()),
        succeeded: fc.boolean(),
        query: fc.oneof(
          fc.constantFrom('50', '2', '404', '%', '_', 'xx'),
          fc.constantFrom(...attempts.map((a) => a.id.slice(-6).toUpperCase())),
          fc.constantFrom(...eventIds.map((id) => id.slice(10, 20))),
        ),
        http_code_class: fc.constantFrom('2xx', '3xx', '4xx', '5xx'),
        event_type: fc.subarray([...WEBHOOK_EVENT_TYPES], { minLength: 1 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(filterArb, async (filters) => {
        const expected = attempts.filter(
          (a) =>
            (!filters.endpoint_id || filters.endpoint_id.includes(a.endpointId)) &&
            (!filters.start_timestamp || a.createdAt > filters.start_timestamp) &&
            (!filters.end_timestamp || a.createdAt < filters.end_timestamp) &&
            (filters.succeeded === undefined || a.succeeded === filters.succeeded) &&
            (!filters.query ||
              [a.id, a.eventId, a.httpCode === null ? '' : String(a.httpCode)].some((s) =>
                s.toLowerCase().includes(filters.query!.toLowerCase()),
              )) &&
            (!filters.http_code_class || codeClass(a.httpCode) === filters.http_code_class) &&
            (!filters.event_type || filters.event_type.includes(a.eventType)),
        );
        const query: Record<string, string | string[]> = {};
        for (const [key, value] of Object.entries(filters)) {
          query[key] = typeof value === 'boolean' ? String(value) : (value as string | string[]);
        }
        expect(await listAll(query)).toEqual(newestFirst(expected));
      }),
      { numRuns: 120, seed: 20261127 },
    );
  });

  it('accepts timestamps with offsets and treats bounds as exclusive', async () => {
    const first = newestFirst(attempts).at(-1)!;
    const at = attempts.find((a) => a.id === first)!.createdAt;
    expect(
      await listAll({ start_timestamp: at, end_timestamp: '2026-01-01T00:00:00.001Z' }),
    ).toEqual([]);
    const plusOne = await listAll({ end_timestamp: '2026-01-01T01:00:00.001+01:00' });
    expect(plusOne).toEqual([first]);
  });

  it.each([
    [{ start_timestamp: '2026-01-01T00:00:00' }, 'start_timestamp'],
    [{ end_timestamp: 'yesterday' }, 'end_timestamp'],
    [{ succeeded: 'maybe' }, 'succeeded'],
    [{ http_code_class: '6xx' }, 'http_code_class'],
    [{ event_type: 'nope' }, 'event_type'],
    [{ endpoint_id: 'abc' }, 'endpoint_id'],
    [{ limit: '0' }, 'limit'],
  ])('answers 422 for %j', async (query, field) => {
    const response = await t.http
      .get('/api/webhooks/deliveries')
      .query(query)
      .set(bearer(token))
      .expect(422);
    expect(response.body.error).toBe('RequestValidationError');
    expect(response.body.detail[0].loc.slice(0, 2)).toEqual(['query', field]);
  });

  describe('redeliver', () => {
    const history = (eventId: string) =>
      t.engine.eventStore.readStream(webhookEventStream(eventId));

    it('records a redelivery request and answers 202', async () => {
      const eventId = eventIds[3];
      await t.http
        .post(`/api/webhooks/events/${eventId}/redeliver`)
        .set(bearer(token))
        .expect(202, {});
      // The engine then sends it (and records the attempt): the request is in the history.
      expect((await history(eventId)).map((e) => e.type)).toContain(
        'WebhookEventRedeliveryRequested',
      );
    });

    it('is 404 for unknown and foreign events, 422 for a malformed id, 403 without write scope', async () => {
      await t.http
        .post(`/api/webhooks/events/${uuidv7()}/redeliver`)
        .set(bearer(token))
        .expect(404);
      await t.http
        .post(`/api/webhooks/events/${eventIds[0]}/redeliver`)
        .set(bearer(otherToken))
        .expect(404);
      await t.http.post('/api/webhooks/events/nope/redeliver').set(bearer(token)).expect(422);
      const { token: readOnly } = await t.workspaceToken(['webhooks:read'], workspaceId);
      await t.http
        .post(`/api/webhooks/events/${eventIds[0]}/redeliver`)
        .set(bearer(readOnly))
        .expect(403);
    });

    it('marks the event skipped when its endpoint is disabled', async () => {
      const eventId = eventIds[1];
      const endpointId = endpoints[1];
      await t.http
        .patch(`/api/webhooks/endpoints/${endpointId}`)
        .set(bearer(token))
        .send({ enabled: false })
        .expect(200);
      await t.http.post(`/api/webhooks/events/${eventId}/redeliver`).set(bearer(token)).expect(202);
      expect((await history(eventId)).at(-1)!.type).toBe('WebhookEventSkipped');
      const delivery = await t.http
        .get('/api/webhooks/deliveries')
        .query({ endpoint_id: endpointId, query: eventId })
        .set(bearer(token))
        .expect(200);
      expect(delivery.body.data[0].webhook_event.skipped).toBe(true);
    });

    it('refuses an archived event with 422', async () => {
      const eventId = eventIds[2];
      const result = await t.engine.eventStore.append(
        webhookEventStream(eventId),
        [
          {
            type: 'WebhookEventArchived',
            data: { webhookEventId: eventId, archivedAt: new Date().toISOString() },
          },
        ],
        'any',
      );
      await t.engine.projections.waitFor(result.position);
      const response = await t.http
        .post(`/api/webhooks/events/${eventId}/redeliver`)
        .set(bearer(token))
        .expect(422);
      expect(response.body.error).toBe('WebhookEventArchived');
    });
  });
});
