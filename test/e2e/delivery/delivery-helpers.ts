import { createServer } from 'node:net';
import { AppOverrides } from '../../../src/app';
import { Engine } from '../../../src/engine/engine';
import { describeDifference } from '../../../src/replay/replay-report';
import { WebhookEventType } from '../../../src/common/webhook-event-types';
import { Receiver, ReceivedRequest, ReceiverOptions, startReceiver } from '../../support/receiver';
import { bearer, startTestApp, TestApp } from '../../support/test-app';

/** Shared set-up and polling helpers for the delivery engine's end-to-end tests. */

/**
 * `replay --verify` in process: rebuilds the read models from the log into scratch storage and
 * compares. Fails with every difference listed.
 */
export async function expectNoDrift(engine: Engine): Promise<void> {
  const differences: string[] = [];
  const summary = await engine.replay.verify(
    () => undefined,
    (d) => differences.push(describeDifference(d)),
  );
  expect(differences).toEqual([]);
  expect(summary.differences).toBe(0);
}

export interface EndpointBody {
  id: string;
  url: string;
  format: 'raw' | 'discord' | 'slack';
  secret: string;
  workspace_id: string;
  events: WebhookEventType[];
  enabled: boolean;
}

export interface PublicationBody {
  id: string;
  type: WebhookEventType;
  workspace_id: string;
  webhook_event_ids: string[];
}

export interface WebhookEventBody {
  id: string;
  created_at: string;
  modified_at: string | null;
  webhook_endpoint_id: string;
  type: WebhookEventType;
  payload: string | null;
  last_http_code: number | null;
  succeeded: boolean | null;
  skipped: boolean;
  is_archived: boolean;
}

export interface DeliveryBody {
  id: string;
  created_at: string;
  webhook_endpoint_id: string;
  succeeded: boolean;
  http_code: number | null;
  response: string | null;
  duration_ms: number;
  webhook_event: WebhookEventBody;
}

/** A running app with one workspace, a read/write token and a publish token for it. */
export interface DeliveryApp {
  t: TestApp;
  workspaceId: string;
  /** webhooks:read + webhooks:write */
  token: string;
  /** webhooks:publish */
  publisher: string;
}

/**
 * Millisecond retries and private targets (receivers on 127.0.0.1) unless `env` says otherwise.
 * With `dataDir` the data outlives the app (the caller removes it).
 */
export async function startDeliveryApp(
  env: Record<string, string> = {},
  overrides: AppOverrides = {},
  dataDir?: string,
): Promise<DeliveryApp> {
  const t = await startTestApp(deliveryEnv(env), dataDir, overrides);
  return { t, ...(await newWorkspace(t)) };
}

export const deliveryEnv = (env: Record<string, string> = {}): Record<string, string> => ({
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms',
  ...env,
});

/** Another workspace on the same app, with its own tokens. */
export async function newWorkspace(
  t: TestApp,
): Promise<{ workspaceId: string; token: string; publisher: string }> {
  const { token, workspaceId } = await t.workspaceToken(['webhooks:read', 'webhooks:write']);
  const { token: publisher } = await t.workspaceToken(['webhooks:publish'], workspaceId);
  return { workspaceId, token, publisher };
}

type Workspace = Pick<DeliveryApp, 't' | 'token' | 'publisher'>;

/** An endpoint in a workspace of its own, and the receiver behind it. */
export interface EndpointWithReceiver {
  /** The endpoint's workspace (so publications there reach this endpoint alone). */
  w: DeliveryApp;
  /** Verifies with the endpoint's secret. */
  receiver: Receiver;
  endpoint: EndpointBody;
  /** Publishes `customer.created` with `{ id }`, expects one WebhookEvent and returns its id. */
  publishOne(id: string): Promise<string>;
}

export interface DeliveryAppFixture {
  /** The app started by the suite's beforeAll. */
  readonly app: DeliveryApp;
  /** Every receiver started through the fixture (all closed in afterAll). */
  readonly receivers: readonly Receiver[];
  /** A receiver that is closed with the app. */
  startReceiver(options?: ReceiverOptions): Promise<Receiver>;
  /** A receiver and an endpoint on `${receiver.url}hook` (by default) in a new workspace. */
  endpointWithReceiver(
    options?: ReceiverOptions,
    body?: Omit<CreateEndpointBody, 'url'> & { path?: string },
  ): Promise<EndpointWithReceiver>;
}

/**
 * Registers beforeAll/afterAll hooks in the calling describe block: starts a delivery app with
 * `env` (see startDeliveryApp) and, after all tests, closes the receivers started through the
 * fixture and then the app.
 */
export function useDeliveryApp(env: Record<string, string> = {}): DeliveryAppFixture {
  let current: DeliveryApp | undefined;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    current = await startDeliveryApp(env);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    try {
      // Whatever the suite did, its read models are what a rebuild from its log gives.
      if (current) await expectNoDrift(current.t.engine);
    } finally {
      await current?.t.close();
    }
  });

  const app = (): DeliveryApp => {
    if (!current) throw new Error('useDeliveryApp: the app is only available inside tests');
    return current;
  };
  const startTracked = async (options: ReceiverOptions = {}): Promise<Receiver> => {
    const receiver = await startReceiver(options);
    receivers.push(receiver);
    return receiver;
  };

  return {
    get app() {
      return app();
    },
    receivers,
    startReceiver: startTracked,
    async endpointWithReceiver(options = {}, { path = 'hook', ...body } = {}) {
      const receiver = await startTracked(options);
      const w = { t: app().t, ...(await newWorkspace(app().t)) };
      const endpoint = await createEndpoint(w, { url: `${receiver.url}${path}`, ...body });
      receiver.setSecret(endpoint.secret);
      const publishOne = async (id: string): Promise<string> => {
        const published = await publish(w, 'customer.created', { id });
        expect(published.webhook_event_ids).toHaveLength(1);
        return published.webhook_event_ids[0];
      };
      return { w, receiver, endpoint, publishOne };
    },
  };
}

export interface CreateEndpointBody {
  url: string;
  format?: EndpointBody['format'];
  events?: WebhookEventType[];
}

export async function createEndpoint(
  w: Workspace,
  body: CreateEndpointBody,
): Promise<EndpointBody> {
  const response = await w.t.http
    .post('/api/webhooks/endpoints')
    .set(bearer(w.token))
    .send({ format: 'raw', events: ['customer.created'], ...body })
    .expect(201);
  return response.body as EndpointBody;
}

export async function getEndpoint(w: Workspace, id: string): Promise<EndpointBody> {
  const response = await w.t.http
    .get(`/api/webhooks/endpoints/${id}`)
    .set(bearer(w.token))
    .expect(200);
  return response.body as EndpointBody;
}

export async function patchEndpoint(
  w: Workspace,
  id: string,
  body: Record<string, unknown>,
): Promise<EndpointBody> {
  const response = await w.t.http
    .patch(`/api/webhooks/endpoints/${id}`)
    .set(bearer(w.token))
    .send(body)
    .expect(200);
  return response.body as EndpointBody;
}

export async function publish(
  w: Workspace,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<PublicationBody> {
  const response = await w.t.http
    .post('/api/webhooks/events')
    .set(bearer(w.publisher))
    .send({ type, data })
    .expect(202);
  return response.body as PublicationBody;
}

export async function getEvent(w: Workspace, id: string): Promise<WebhookEventBody> {
  const response = await w.t.http
    .get(`/api/webhooks/events/${id}`)
    .set(bearer(w.token))
    .expect(200);
  return response.body as WebhookEventBody;
}

export async function redeliver(w: Workspace, id: string): Promise<void> {
  await w.t.http.post(`/api/webhooks/events/${id}/redeliver`).set(bearer(w.token)).expect(202);
}

/** Every item of a paginated list (newest first), following pages of 100. */
export async function listAll<T>(
  w: Workspace,
  path: string,
  query: Record<string, string | string[]> = {},
): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const response = await w.t.http
      .get(path)
      .query({ ...query, page: String(page), limit: '100' })
      .set(bearer(w.token))
      .expect(200);
    const body = response.body as { data: T[]; meta: { pages: number } };
    items.push(...body.data);
    if (page >= body.meta.pages) return items;
  }
}

export const listDeliveries = (w: Workspace, query: Record<string, string | string[]> = {}) =>
  listAll<DeliveryBody>(w, '/api/webhooks/deliveries', query);

export const listEvents = (w: Workspace, query: Record<string, string | string[]> = {}) =>
  listAll<WebhookEventBody>(w, '/api/webhooks/events', query);

/** The attempts recorded for one event, oldest first. */
export async function deliveriesOf(w: Workspace, eventId: string): Promise<DeliveryBody[]> {
  const all = await listDeliveries(w, { query: eventId });
  return all.filter((d) => d.webhook_event.id === eventId).reverse();
}

/**
 * Polls `probe` until it returns something other than undefined/null/false, and returns that;
 * fails with `what` and the last value seen after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(intervalMs);
  }
}

/** The event once its state matches `done` (e.g. an outcome was reached). */
export function waitForEvent(
  w: Workspace,
  id: string,
  done: (event: WebhookEventBody) => boolean,
  timeoutMs = 10_000,
): Promise<WebhookEventBody> {
  return waitUntil(
    `webhook event ${id} to reach the expected state`,
    async () => {
      const event = await getEvent(w, id);
      return done(event) ? event : undefined;
    },
    timeoutMs,
  );
}

/** The event once `count` attempts are recorded for it. */
export function waitForDeliveries(
  w: Workspace,
  eventId: string,
  count: number,
  timeoutMs = 10_000,
): Promise<DeliveryBody[]> {
  return waitUntil(
    `${count} recorded attempt(s) of ${eventId}`,
    async () => {
      const list = await deliveriesOf(w, eventId);
      return list.length >= count ? list : undefined;
    },
    timeoutMs,
  );
}

/**
 * Asserting that nothing happens needs some waiting: this is the one fixed pause, kept
 * well above the retry schedules the tests configure.
 */
export const QUIET_PERIOD_MS = 800;

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The requests of one webhook event, in arrival order. */
export const requestsOf = (received: readonly ReceivedRequest[], webhookId: string) =>
  received.filter((r) => r.headers['webhook-id'] === webhookId);

export const webhookIdOf = (request: ReceivedRequest) => String(request.headers['webhook-id']);

/** The `v1,` entries of a request's signature header. */
export const signaturesOf = (request: ReceivedRequest) =>
  String(request.headers['webhook-signature']).split(' ');

/** A 127.0.0.1 port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Counts per key, for comparing what receivers logged with what the API lists. */
export function tally<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
