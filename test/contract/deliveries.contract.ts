import { randomUUID } from 'node:crypto';
import { WebhookEventType } from '../../src/common/webhook-event-types';
import {
  Delivery,
  DeliveryListQuery,
  HTTP_CODE_CLASSES,
  WebhookEventListQuery,
} from '../../src/deliveries/deliveries.repository';
import {
  DeliveryAttempted,
  WebhookEvent,
  WebhookEventEvent,
  decideAttempt,
  decideRedeliver,
  decideSkip,
  evolve,
  webhookEventStream,
} from '../../src/delivery/webhook-event';
import {
  Endpoint,
  EndpointEvent,
  decide as decideEndpoint,
  endpointStream,
  evolve as evolveEndpoint,
} from '../../src/endpoints/endpoint';
import { Engine } from '../../src/engine/engine';
import { executeOnStream } from '../../src/eventstore/command-execution';
import { EventStore } from '../../src/eventstore/event-store';
import { ContractStorage, Storages, within } from './contract-support';

const BASE_TIME = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(BASE_TIME + seconds * 1000).toISOString();

const webhookEventDecider = { evolve, initialState: null as WebhookEvent | null };

/** Decides on a WebhookEvent's stream through the real write path; returns the position. */
async function onWebhookEvent(
  store: EventStore,
  id: string,
  decide: (state: WebhookEvent | null) => WebhookEventEvent[],
): Promise<number> {
  const result = await executeOnStream<WebhookEvent | null, WebhookEventEvent>(
    store,
    webhookEventStream(id),
    webhookEventDecider,
    decide,
  );
  return result.position ?? 0;
}

export interface NewWebhookEvent {
  id: string;
  endpointId: string;
  workspaceId: string;
  eventType: WebhookEventType;
  createdAt: string;
}

/** The WebhookEvent a publication creates for one endpoint (what the publish command appends). */
export function publish(store: EventStore, event: NewWebhookEvent): Promise<number> {
  return onWebhookEvent(store, event.id, (state) =>
    state
      ? []
      : [
          {
            type: 'WebhookEventCreated',
            data: {
              webhookEventId: event.id,
              endpointId: event.endpointId,
              workspaceId: event.workspaceId,
              publicationId: randomUUID(),
              eventType: event.eventType,
              // Looks like operators and field paths to a careless store.
              payload: JSON.stringify({ type: event.eventType, data: { $set: '$x', 'a.b': 1 } }),
              createdAt: event.createdAt,
            },
          },
        ],
  );
}

export interface Attempt {
  httpCode: number | null;
  at: string;
  /** Delay before the next attempt; null when this one ends the budget. */
  retryDelayMs: number | null;
  permanent?: boolean;
}

/** Records an attempt as the dispatcher does (decideAttempt adds WebhookEventFailed when due). */
export function attempt(store: EventStore, id: string, outcome: Attempt): Promise<number> {
  return onWebhookEvent(store, id, (state) =>
    decideAttempt(state, {
      type: 'RecordAttempt',
      deliveryId: randomUUID(),
      outcome: {
        httpCode: outcome.httpCode,
        response: outcome.httpCode === null ? 'connect ECONNREFUSED' : `body ${outcome.httpCode}`,
        durationMs: 10 + (outcome.httpCode ?? 0) / 10,
        permanent: outcome.permanent ?? false,
      },
      retryDelayMs: outcome.retryDelayMs,
      now: outcome.at,
    }),
  );
}

export function skip(store: EventStore, id: string, now: string): Promise<number> {
  return onWebhookEvent(store, id, (state) => decideSkip(state, 'endpoint_disabled', now));
}

export function redeliver(store: EventStore, id: string, now: string): Promise<number> {
  return onWebhookEvent(store, id, (state) =>
    decideRedeliver(state, { type: 'RedeliverWebhookEvent', endpointEnabled: true, now }),
  );
}

export function archive(store: EventStore, id: string, now: string): Promise<number> {
  return onWebhookEvent(store, id, (state) =>
    state ? [{ type: 'WebhookEventArchived', data: { webhookEventId: id, archivedAt: now } }] : [],
  );
}

/** The event and its attempts as its own stream says: the oracle for the read models. */
async function fromStream(
  store: EventStore,
  id: string,
): Promise<{ event: WebhookEvent | null; deliveries: Delivery[] }> {
  const recorded = await store.readStream(webhookEventStream(id));
  const event = recorded.reduce<WebhookEvent | null>(
    (state, e) => evolve(state, { type: e.type, data: e.data } as WebhookEventEvent),
    null,
  );
  const deliveries = recorded
    .filter((e) => e.type === 'DeliveryAttempted')
    .map((e) => e.data as DeliveryAttempted['data'])
    .map((d) => ({
      id: d.deliveryId,
      createdAt: d.attemptedAt,
      endpointId: d.endpointId,
      succeeded: d.succeeded,
      httpCode: d.httpCode,
      response: d.response,
      durationMs: d.durationMs,
      webhookEvent: event!,
    }));
  return { event, deliveries };
}

/** Newest first, ties broken by id descending: the order every list promises. */
function newestFirst<T extends { id: string; createdAt: string }>(a: T, b: T): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const TYPES: WebhookEventType[] = [
  'customer.created',
  'share.created',
  'workspace.updated',
  'customer.deleted',
];

/** Every page at `limit`, and one past the end, compared with the oracle's slice. */
async function expectPages<T>(
  list: (page: { page: number; limit: number }) => Promise<{ items: T[]; total: number }>,
  expected: T[],
  what: string,
): Promise<void> {
  for (const limit of [100, 7]) {
    const pages = Math.ceil(expected.length / limit);
    for (let page = 1; page <= pages + 1; page++) {
      const offset = (page - 1) * limit;
      const result = await list({ page, limit });
      expect({ what, page, limit, ...result }).toEqual({
        what,
        page,
        limit,
        items: expected.slice(offset, offset + limit),
        total: expected.length,
      });
    }
  }
}

/**
 * The deliveries read models' contract (webhook events and attempts), run against every engine.
 * WebhookEvents and their attempts are written through the real write path (the aggregates'
 * decide functions via executeOnStream), then `projections.waitFor`; the expected results are
 * computed from the streams themselves.
 */
export function deliveriesContract(name: string, storage: ContractStorage): void {
  describe(`Deliveries read model contract: ${name}`, () => {
    let storages: Storages;
    let engine: Engine;
    let store: EventStore;

    beforeEach(async () => {
      storages = new Storages(storage);
      engine = await storages.openEngine(await storages.create());
      store = engine.eventStore;
    });
    afterEach(() => storages.release());

    async function projected(): Promise<void> {
      const head = await store.headPosition();
      await within(engine.projections.waitFor(head), `projections to reach ${head}`);
    }

    /**
     * 36 WebhookEvents over 3 workspaces and 6 endpoints, with creation times and attempt times
     * repeating (ties), through every life: success, retries then success, unreachable then
     * final failure, pending, skipped, 410 then redeliveries, some archived.
     */
    async function populate() {
      const workspaces = [randomUUID(), randomUUID(), randomUUID()];
      const endpoints = workspaces.flatMap((workspaceId) => [
        { id: randomUUID(), workspaceId },
        { id: randomUUID(), workspaceId },
      ]);
      const ids: string[] = [];
      for (let i = 0; i < 36; i++) {
        const endpoint = endpoints[i % endpoints.length];
        const id = randomUUID();
        ids.push(id);
        await publish(store, {
          id,
          endpointId: endpoint.id,
          workspaceId: endpoint.workspaceId,
          eventType: TYPES[i % TYPES.length],
          createdAt: at(Math.floor(i / 3)),
        });
      }
      let tick = 0;
      // Two attempts per second: attempt times tie too.
      const next = () => at(100 + Math.floor(tick++ / 2));
      const retry = 5_000;
      for (const [i, id] of ids.entries()) {
        switch (i % 6) {
          case 0:
            await attempt(store, id, { httpCode: 200, at: next(), retryDelayMs: null });
            break;
          case 1:
            await attempt(store, id, { httpCode: 500, at: next(), retryDelayMs: retry });
            await attempt(store, id, { httpCode: 503, at: next(), retryDelayMs: retry });
            await attempt(store, id, { httpCode: 201, at: next(), retryDelayMs: null });
            break;
          case 2:
            await attempt(store, id, { httpCode: null, at: next(), retryDelayMs: retry });
            await attempt(store, id, { httpCode: 404, at: next(), retryDelayMs: null });
            break;
          case 3:
            break; // pending: never attempted
          case 4:
            await attempt(store, id, { httpCode: 302, at: next(), retryDelayMs: retry });
            await skip(store, id, next());
            break;
          case 5:
            await attempt(store, id, {
              httpCode: 410,
              at: next(),
              retryDelayMs: null,
              permanent: true,
            });
            await redeliver(store, id, next());
            await attempt(store, id, { httpCode: 200, at: next(), retryDelayMs: null });
            await redeliver(store, id, next());
            // A later failure does not rewrite the success.
            await attempt(store, id, { httpCode: 500, at: next(), retryDelayMs: null });
            break;
        }
        if (i % 12 === 0) await archive(store, id, next());
      }
      await projected();
      const streams = await Promise.all(ids.map((id) => fromStream(store, id)));
      return {
        workspaces,
        endpoints,
        ids,
        events: streams.map((s) => s.event!),
        deliveries: streams.flatMap((s) => s.deliveries),
      };
    }

    it('replays into fresh read models equal to the live ones, and projecting goes on after', async () => {
      const { workspaces, endpoints, ids } = await populate();
      const endpointId = randomUUID();
      await executeOnStream<Endpoint | null, EndpointEvent>(
        store,
        endpointStream(endpointId),
        { evolve: evolveEndpoint, initialState: null },
        (state) =>
          decideEndpoint(state, {
            type: 'CreateEndpoint',
            endpointId,
            workspaceId: workspaces[0],
            url: `https://hooks.example.com/${endpointId}`,
            format: 'raw',
            events: ['customer.created'],
            secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
            now: at(0),
          }),
      );
      await projected();
      const page = { page: 1, limit: 100 };
      const view = async () => ({
        events: await engine.deliveries.listEvents({ workspaceIds: workspaces, page }),
        deliveries: await engine.deliveries.list({ workspaceIds: workspaces, page }),
        each: await Promise.all(ids.map((id) => engine.deliveries.findEvent(id))),
        queued: await engine.dueWork.depth(),
        endpoint: await engine.endpoints.findById(endpointId),
      });
      const before = await view();
      expect(before.queued).toBeGreaterThan(0);
      expect(before.endpoint).not.toBeNull();
      // An item being sent while the replay runs: it must not be handed out again after it.
      const [sending] = await engine.dueWork.claim(Date.now(), 1, 60_000);
      expect(sending).toBeDefined();

      const summary = await engine.replay.replay(() => undefined);
      expect(summary.position).toBe(await store.headPosition());
      expect(await view()).toEqual(before);
      const claimable = await engine.dueWork.claim(Date.now(), 1_000, 60_000);
      expect(claimable.map((work) => work.webhookEventId)).not.toContain(sending.webhookEventId);
      const differences: unknown[] = [];
      const verified = await engine.replay.verify(
        () => undefined,
        (difference) => differences.push(difference),
      );
      expect(differences).toEqual([]);
      expect(verified.position).toBe(summary.position);

      // The projections go on from where the replay switched over.
      const later = randomUUID();
      await publish(store, {
        id: later,
        endpointId: endpoints[0].id,
        workspaceId: endpoints[0].workspaceId,
        eventType: TYPES[0],
        createdAt: at(900),
      });
      await projected();
      expect(await engine.deliveries.findEvent(later)).toMatchObject({ id: later });
    });

    it('finds a webhook event as its stream folds it, after each step of its life', async () => {
      const workspaceId = randomUUID();
      const endpointId = randomUUID();
      const id = randomUUID();
      expect(await engine.deliveries.findEvent(id)).toBeNull();
      expect(await engine.deliveries.hasEvent(id)).toBe(false);

      const steps: Array<() => Promise<number>> = [
        () =>
          publish(store, {
            id,
            endpointId,
            workspaceId,
            eventType: 'share.created',
            createdAt: at(0),
          }),
        () => attempt(store, id, { httpCode: 503, at: at(1), retryDelayMs: 1000 }),
        () => attempt(store, id, { httpCode: null, at: at(2), retryDelayMs: null }),
        () => redeliver(store, id, at(3)),
        () => attempt(store, id, { httpCode: 204, at: at(4), retryDelayMs: null }),
        () => redeliver(store, id, at(5)),
        () => attempt(store, id, { httpCode: 500, at: at(6), retryDelayMs: null }),
        () => skip(store, id, at(7)),
        () => archive(store, id, at(8)),
      ];
      const seen: Array<Pick<WebhookEvent, 'succeeded' | 'skipped' | 'isArchived'>> = [];
      for (const step of steps) {
        await within(engine.projections.waitFor(await step()), 'the step to be projected');
        const expected = (await fromStream(store, id)).event;
        const found = await engine.deliveries.findEvent(id);
        expect(found).toEqual(expected);
        expect(await engine.deliveries.hasEvent(id)).toBe(true);
        seen.push({
          succeeded: found!.succeeded,
          skipped: found!.skipped,
          isArchived: found!.isArchived,
        });
      }
      // The oracle itself went through every state the read model must show.
      expect(seen.map((s) => s.succeeded)).toEqual([
        null,
        null,
        false,
        false,
        true,
        true,
        true,
        true,
        true,
      ]);
      expect(await engine.deliveries.findEvent(id)).toMatchObject({
        payload: null,
        isArchived: true,
        skipped: true,
        lastHttpCode: 500,
        modifiedAt: at(8),
      });
      expect(await engine.deliveries.findEvent(randomUUID())).toBeNull();
      expect(await engine.deliveries.hasEvent(randomUUID())).toBe(false);
    });

    it('lists webhook events by each filter and their combinations, newest first, paged', async () => {
      const { workspaces, endpoints, ids, events } = await populate();
      for (const id of ids) {
        expect(await engine.deliveries.findEvent(id)).toEqual(events[ids.indexOf(id)]);
      }
      const queries: Array<Omit<WebhookEventListQuery, 'page'>> = [
        { workspaceIds: workspaces },
        { workspaceIds: [workspaces[1]] },
        { workspaceIds: [workspaces[0], workspaces[2], randomUUID()] },
        { workspaceIds: [randomUUID()] },
        { workspaceIds: [] },
        { workspaceIds: workspaces, endpointIds: [endpoints[0].id] },
        { workspaceIds: workspaces, endpointIds: [endpoints[1].id, endpoints[4].id] },
        // An endpoint of a workspace the caller cannot see: nothing.
        { workspaceIds: [workspaces[0]], endpointIds: [endpoints[5].id] },
        { workspaceIds: workspaces, eventTypes: [TYPES[0]] },
        { workspaceIds: workspaces, eventTypes: [TYPES[1], TYPES[3]] },
        { workspaceIds: workspaces, succeeded: true },
        { workspaceIds: workspaces, succeeded: false },
        { workspaceIds: workspaces, succeeded: null },
        { workspaceIds: workspaces, skipped: true },
        { workspaceIds: workspaces, skipped: false },
        { workspaceIds: workspaces, succeeded: null, skipped: false },
        { workspaceIds: workspaces, succeeded: null, skipped: true },
        { workspaceIds: workspaces, succeeded: true, skipped: false },
        {
          workspaceIds: [workspaces[0], workspaces[1]],
          endpointIds: [endpoints[0].id, endpoints[2].id, endpoints[3].id],
          eventTypes: [TYPES[0], TYPES[2]],
          succeeded: true,
        },
        {
          workspaceIds: workspaces,
          endpointIds: endpoints.map((e) => e.id),
          eventTypes: TYPES,
          succeeded: false,
          skipped: false,
        },
      ];
      for (const query of queries) {
        const expected = events
          .filter(
            (e) =>
              query.workspaceIds.includes(e.workspaceId) &&
              (!query.endpointIds || query.endpointIds.includes(e.endpointId)) &&
              (!query.eventTypes || query.eventTypes.includes(e.eventType)) &&
              (query.succeeded === undefined || e.succeeded === query.succeeded) &&
              (query.skipped === undefined || e.skipped === query.skipped),
          )
          .sort(newestFirst);
        await expectPages(
          (page) => engine.deliveries.listEvents({ ...query, page }),
          expected,
          JSON.stringify(query),
        );
      }
      // The data reaches every case the filters distinguish.
      expect(events.filter((e) => e.succeeded === null && e.skipped)).not.toHaveLength(0);
      expect(events.filter((e) => e.succeeded === null && !e.skipped)).not.toHaveLength(0);
      expect(events.filter((e) => e.succeeded === false)).not.toHaveLength(0);
      expect(events.filter((e) => e.isArchived)).not.toHaveLength(0);
    });

    it('lists deliveries by each filter and their combinations, newest first, paged, each with its event as it is now', async () => {
      const { workspaces, endpoints, ids, deliveries } = await populate();
      const someDelivery = deliveries[17];
      const someEvent = ids[7];
      const times = [...new Set(deliveries.map((d) => Date.parse(d.createdAt)))].sort();
      const middle = times[Math.floor(times.length / 2)];
      const queries: Array<Omit<DeliveryListQuery, 'page'>> = [
        { workspaceIds: workspaces },
        { workspaceIds: [workspaces[2]] },
        { workspaceIds: [workspaces[0], randomUUID()] },
        { workspaceIds: [randomUUID()] },
        { workspaceIds: [] },
        { workspaceIds: workspaces, endpointIds: [endpoints[1].id] },
        { workspaceIds: workspaces, endpointIds: [endpoints[0].id, endpoints[3].id] },
        { workspaceIds: [workspaces[1]], endpointIds: [endpoints[0].id] },
        // Exclusive bounds: an attempt made exactly at a bound is outside it.
        { workspaceIds: workspaces, after: middle },
        { workspaceIds: workspaces, before: middle },
        { workspaceIds: workspaces, after: times[2], before: times[times.length - 3] },
        { workspaceIds: workspaces, after: middle, before: middle },
        { workspaceIds: workspaces, succeeded: true },
        { workspaceIds: workspaces, succeeded: false },
        ...HTTP_CODE_CLASSES.map((httpCodeClass) => ({ workspaceIds: workspaces, httpCodeClass })),
        { workspaceIds: workspaces, eventTypes: [TYPES[2]] },
        { workspaceIds: workspaces, eventTypes: [TYPES[0], TYPES[1]] },
        // Text: part of a delivery id (any case), of an event id, of an HTTP code.
        { workspaceIds: workspaces, text: someDelivery.id.slice(9, 18).toUpperCase() },
        { workspaceIds: workspaces, text: someEvent.slice(-7) },
        { workspaceIds: workspaces, text: '50' },
        { workspaceIds: workspaces, text: '410' },
        { workspaceIds: workspaces, text: '' },
        // No wildcards, no regular expressions: these match only themselves (nothing here).
        ...['%', '_', '.', '.*', '[0-9]', '\\d', '^2'].map((text) => ({
          workspaceIds: workspaces,
          text,
        })),
        {
          workspaceIds: workspaces,
          endpointIds: [endpoints[1].id, endpoints[2].id, endpoints[5].id],
          succeeded: false,
          httpCodeClass: '5xx',
        },
        {
          workspaceIds: [workspaces[0], workspaces[1]],
          eventTypes: [TYPES[1], TYPES[3]],
          after: times[1],
          text: '2',
        },
        {
          workspaceIds: workspaces,
          endpointIds: endpoints.map((e) => e.id),
          eventTypes: TYPES,
          after: times[0] - 1,
          before: times[times.length - 1] + 1,
          succeeded: true,
          httpCodeClass: '2xx',
          text: '0',
        },
      ];
      const matchesText = (d: Delivery, text: string) =>
        d.id.toLowerCase().includes(text.toLowerCase()) ||
        d.webhookEvent.id.toLowerCase().includes(text.toLowerCase()) ||
        (d.httpCode !== null && String(d.httpCode).includes(text));
      for (const query of queries) {
        const expected = deliveries
          .filter(
            (d) =>
              query.workspaceIds.includes(d.webhookEvent.workspaceId) &&
              (!query.endpointIds || query.endpointIds.includes(d.endpointId)) &&
              (!query.eventTypes || query.eventTypes.includes(d.webhookEvent.eventType)) &&
              (query.after === undefined || Date.parse(d.createdAt) > query.after) &&
              (query.before === undefined || Date.parse(d.createdAt) < query.before) &&
              (query.succeeded === undefined || d.succeeded === query.succeeded) &&
              (!query.httpCodeClass ||
                (d.httpCode !== null &&
                  Math.floor(d.httpCode / 100) === Number(query.httpCodeClass[0]))) &&
              (query.text === undefined || matchesText(d, query.text)),
          )
          .sort(newestFirst);
        await expectPages(
          (page) => engine.deliveries.list({ ...query, page }),
          expected,
          JSON.stringify(query),
        );
      }
      // The text filters above found something where they should.
      const count = async (text: string) =>
        (
          await engine.deliveries.list({
            workspaceIds: workspaces,
            text,
            page: { page: 1, limit: 1 },
          })
        ).total;
      expect(await count(someDelivery.id.slice(9, 18).toUpperCase())).toBeGreaterThan(0);
      expect(await count(someEvent.slice(-7))).toBeGreaterThan(0);
      expect(await count('410')).toBeGreaterThan(0);
      expect(deliveries.filter((d) => d.httpCode === null)).not.toHaveLength(0);
    });

    it("gives an endpoint's latest completed outcomes after `since`, newest first, at most `count`", async () => {
      const workspaceId = randomUUID();
      const endpointId = randomUUID();
      const other = randomUUID();
      // [completion second, outcome]; null: still pending.
      const plan: Array<[number, boolean | null]> = [
        [5, false], // before `since`: not counted
        [20, true],
        [21, false],
        [22, false],
        [23, null],
        [24, true],
        [25, false],
        [26, false],
      ];
      for (const [i, [second, outcome]] of plan.entries()) {
        for (const target of [endpointId, other]) {
          const id = randomUUID();
          await publish(store, {
            id,
            endpointId: target,
            workspaceId,
            eventType: 'customer.updated',
            createdAt: at(i),
          });
          if (outcome === null) continue;
          await attempt(store, id, {
            httpCode: outcome ? 200 : 500,
            at: at(target === other ? second + 100 : second),
            retryDelayMs: null,
          });
        }
      }
      // Pending but skipped: not a completion either.
      const skipped = randomUUID();
      await publish(store, {
        id: skipped,
        endpointId,
        workspaceId,
        eventType: 'customer.updated',
        createdAt: at(9),
      });
      await skip(store, skipped, at(30));
      await projected();

      const since = at(10);
      expect(await engine.deliveries.recentOutcomes(endpointId, 10, since)).toEqual([
        false,
        false,
        true,
        false,
        false,
        true,
      ]);
      expect(await engine.deliveries.recentOutcomes(endpointId, 3, since)).toEqual([
        false,
        false,
        true,
      ]);
      expect(await engine.deliveries.recentOutcomes(endpointId, 10, at(24))).toEqual([
        false,
        false,
      ]);
      expect(await engine.deliveries.recentOutcomes(endpointId, 10, at(0))).toHaveLength(7);
      expect(await engine.deliveries.recentOutcomes(randomUUID(), 10, at(0))).toEqual([]);
    });
  });
}
