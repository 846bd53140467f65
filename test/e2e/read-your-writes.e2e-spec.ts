import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteEventStore } from '../../src/eventstore/sqlite/sqlite-event-store';
import { bearer, startTestApp, TestApp } from '../support/test-app';

/**
 * Every write returns only after the read models include it (DESIGN §4 "Read-your-writes"), so
 * a read sent right after a write's response must see that write. No pauses between requests.
 */

const BASE = '/api/webhooks/endpoints';
const PAIRS = 200;

interface WebhookEndpointBody {
  id: string;
  url: string;
  modified_at: string | null;
}

interface PageBody {
  data: WebhookEndpointBody[];
  meta: { total: number };
}

describe('read-your-writes', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  const endpointBody = (i: number) => ({
    url: `https://example.com/hooks/${i}`,
    format: 'raw',
    events: ['customer.created'],
  });

  it(`${PAIRS} create→get pairs in a row: each GET returns the created endpoint`, async () => {
    const { token } = await t.workspaceToken();
    for (let i = 0; i < PAIRS; i++) {
      const created = await t.http.post(BASE).set(bearer(token)).send(endpointBody(i));
      expect(created.status).toBe(201);
      const id = (created.body as WebhookEndpointBody).id;
      const read = await t.http.get(`${BASE}/${id}`).set(bearer(token));
      expect({ i, status: read.status, body: read.body as unknown }).toEqual({
        i,
        status: 200,
        body: created.body as unknown,
      });
    }
  });

  it(`${PAIRS} create→list pairs in a row: each new endpoint heads the first page`, async () => {
    const { token } = await t.workspaceToken();
    for (let i = 0; i < PAIRS; i++) {
      const created = await t.http.post(BASE).set(bearer(token)).send(endpointBody(i));
      expect(created.status).toBe(201);
      const listed = await t.http.get(`${BASE}?limit=1`).set(bearer(token));
      expect(listed.status).toBe(200);
      const page = listed.body as PageBody;
      expect({ i, total: page.meta.total, first: page.data[0] }).toEqual({
        i,
        total: i + 1,
        first: created.body as unknown,
      });
    }
  });

  it('PATCH then GET sees the change, DELETE then GET is 404, every time', async () => {
    const { token } = await t.workspaceToken();
    for (let i = 0; i < 30; i++) {
      const created = await t.http.post(BASE).set(bearer(token)).send(endpointBody(i));
      const path = `${BASE}/${(created.body as WebhookEndpointBody).id}`;

      const patched = await t.http
        .patch(path)
        .set(bearer(token))
        .send({ url: `https://example.org/changed/${i}`, enabled: false });
      expect(patched.status).toBe(200);
      const afterPatch = await t.http.get(path).set(bearer(token));
      expect(afterPatch.status).toBe(200);
      expect(afterPatch.body).toEqual(patched.body);
      expect(afterPatch.body).toMatchObject({
        url: `https://example.org/changed/${i}`,
        enabled: false,
      });

      const rotated = await t.http.patch(`${path}/secret`).set(bearer(token));
      expect(rotated.status).toBe(200);
      await t.http.get(path).set(bearer(token)).expect(200, rotated.body);

      await t.http.delete(path).set(bearer(token)).expect(204);
      await t.http
        .get(path)
        .set(bearer(token))
        .expect(404, { error: 'ResourceNotFound', detail: 'Not found' });
      const listed = await t.http.get(`${BASE}?limit=100`).set(bearer(token));
      expect((listed.body as PageBody).meta.total).toBe(0);
    }
  });

  it('concurrent creates are each visible to a read issued after their own response', async () => {
    const { token } = await t.workspaceToken();
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const created = await t.http.post(BASE).set(bearer(token)).send(endpointBody(i));
        const id = (created.body as WebhookEndpointBody).id;
        const read = await t.http.get(`${BASE}/${id}`).set(bearer(token));
        return { created: created.status, read: read.status, same: read.text === created.text };
      }),
    );
    expect(results).toEqual(Array(50).fill({ created: 201, read: 200, same: true }));
  });

  describe('while the projections lag behind the log', () => {
    let restore: () => void;
    beforeAll(() => {
      // On the embedded store projections normally catch up within the same tick as the append,
      // which would hide a write that forgot to wait for them; delaying their wake-up exposes it.
      const store = t.engine.eventStore;
      if (!(store instanceof SqliteEventStore)) throw new Error('expected the embedded store');
      const original = store.waitForAppend.bind(store);
      store.waitForAppend = async (position: number, signal?: AbortSignal) => {
        await original(position, signal);
        await sleep(20);
      };
      restore = () => (store.waitForAppend = original);
    });
    afterAll(() => restore());

    it('create→get, patch→get and delete→get still see each write', async () => {
      const { token } = await t.workspaceToken();
      for (let i = 0; i < 20; i++) {
        const created = await t.http.post(BASE).set(bearer(token)).send(endpointBody(i));
        expect(created.status).toBe(201);
        const path = `${BASE}/${(created.body as WebhookEndpointBody).id}`;
        await t.http.get(path).set(bearer(token)).expect(200, created.body);
        const listed = await t.http.get(`${BASE}?limit=1`).set(bearer(token));
        expect((listed.body as PageBody).data).toEqual([created.body]);

        const patched = await t.http.patch(path).set(bearer(token)).send({ format: 'slack' });
        expect(patched.status).toBe(200);
        await t.http.get(path).set(bearer(token)).expect(200, patched.body);

        await t.http.delete(path).set(bearer(token)).expect(204);
        await t.http.get(path).set(bearer(token)).expect(404);
      }
    });
  });
});
