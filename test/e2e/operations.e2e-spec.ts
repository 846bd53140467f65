import { uuidv7 } from '../../src/common/ids';
import { bearer, startTestApp, TestApp } from '../support/test-app';
import {
  closedPort,
  createEndpoint,
  getEndpoint,
  newWorkspace,
  publish,
  useDeliveryApp,
  waitForDeliveries,
} from './delivery/delivery-helpers';

/** The value of one sample in a Prometheus exposition, or undefined when it is absent. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const PROJECTIONS = ['endpoints', 'access_tokens', 'deliveries', 'due_work'];

describe('GET /metrics', () => {
  // One attempt per event (the retry is an hour away), so every count is exact.
  const delivery = useDeliveryApp({ WEBHOOK_RETRY_SCHEDULE: '1h' });

  const scrape = async (): Promise<string> => {
    const response = await delivery.app.t.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text;
  };

  it('needs no token and starts every attempt outcome at 0', async () => {
    const metrics = await scrape();
    for (const outcome of ['succeeded', 'failed', 'unreachable']) {
      expect(sample(metrics, `rapidly_delivery_attempts_total{outcome="${outcome}"}`)).toBe(0);
    }
    expect(sample(metrics, 'rapidly_due_work_depth')).toBe(0);
  });

  it('counts real deliveries by outcome, with their durations and the work left', async () => {
    const ok = await delivery.endpointWithReceiver();
    const failing = await delivery.endpointWithReceiver({ respond: () => ({ status: 500 }) });
    const offline = { t: delivery.app.t, ...(await newWorkspace(delivery.app.t)) };
    await createEndpoint(offline, { url: `http://127.0.0.1:${await closedPort()}/hook` });
    const okEvent = await ok.publishOne('c_ok');
    const failedEvent = await failing.publishOne('c_failed');
    const [unreachableEvent] = (await publish(offline, 'customer.created', { id: 'c_off' }))
      .webhook_event_ids;
    const [okAttempt] = await waitForDeliveries(ok.w, okEvent, 1);
    const [failedAttempt] = await waitForDeliveries(failing.w, failedEvent, 1);
    const [unreachableAttempt] = await waitForDeliveries(offline, unreachableEvent, 1);
    expect(okAttempt.http_code).toBe(200);
    expect(failedAttempt.http_code).toBe(500);
    expect(unreachableAttempt.http_code).toBeNull();
    expect(ok.receiver.received[0].verified).toBe(true);

    const metrics = await scrape();
    expect(sample(metrics, 'rapidly_delivery_attempts_total{outcome="succeeded"}')).toBe(1);
    expect(sample(metrics, 'rapidly_delivery_attempts_total{outcome="failed"}')).toBe(1);
    expect(sample(metrics, 'rapidly_delivery_attempts_total{outcome="unreachable"}')).toBe(1);
    expect(sample(metrics, 'rapidly_delivery_attempt_duration_seconds_count')).toBe(3);
    expect(sample(metrics, 'rapidly_delivery_attempt_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(metrics, 'rapidly_delivery_attempt_duration_seconds_bucket{le="+Inf"}')).toBe(3);
    // The failed and the unreachable events wait for their retry, an hour away.
    expect(sample(metrics, 'rapidly_due_work_depth')).toBe(2);
    for (const projection of PROJECTIONS) {
      expect(sample(metrics, `rapidly_projection_lag_events{projection="${projection}"}`)).toBe(0);
    }
  });

  it('counts HTTP requests by route pattern and status, never by raw URL', async () => {
    const { t } = delivery.app;
    const w = { t, ...(await newWorkspace(t)) };
    const endpoint = await createEndpoint(w, { url: 'https://hooks.localtest/a' });
    const before = sample(
      await scrape(),
      'rapidly_http_requests_total{method="GET",route="/api/webhooks/endpoints/:id",status="200"}',
    );
    await getEndpoint(w, endpoint.id);
    await getEndpoint(w, endpoint.id);
    await t.http.get(`/api/webhooks/endpoints/${uuidv7()}`).set(bearer(w.token)).expect(404);
    await t.http.get(`/api/webhooks/endpoints/${endpoint.id}`).expect(401);
    await t.http.get(`/no/such/${uuidv7()}`).expect(404);

    const metrics = await scrape();
    const byRoute = (status: number) =>
      sample(
        metrics,
        `rapidly_http_requests_total{method="GET",route="/api/webhooks/endpoints/:id",status="${status}"}`,
      );
    expect(byRoute(200)).toBe((before ?? 0) + 2);
    expect(byRoute(404)).toBe(1);
    expect(byRoute(401)).toBe(1);
    expect(
      sample(metrics, 'rapidly_http_requests_total{method="GET",route="(unmatched)",status="404"}'),
    ).toBe(1);
    expect(
      sample(
        metrics,
        'rapidly_http_requests_total{method="POST",route="/api/webhooks/endpoints",status="201"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(metrics, 'rapidly_http_requests_total{method="GET",route="/metrics",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(metrics).not.toContain(endpoint.id);
    expect(metrics).not.toContain('/no/such');
  });
});

describe('GET /ready', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ WEBHOOK_READY_MAX_LAG: '2' });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Appends `count` events the projections have to get through (they apply none of them). */
  async function appendEvents(count: number): Promise<number> {
    const events = Array.from({ length: count }, () => ({ type: 'OperationsProbe', data: {} }));
    return (await t.engine.eventStore.append(`ops-${uuidv7()}`, events, 'no_stream')).position;
  }

  it('is ready, without a token, when the projections are current', async () => {
    const response = await t.http.get('/ready').expect(200);
    const head = await t.engine.eventStore.headPosition();
    expect(response.body).toEqual({
      status: 'ready',
      log_head: head,
      projection_lags: Object.fromEntries(PROJECTIONS.map((p) => [p, 0])),
      max_lag: 2,
    });
  });

  it('stays ready within the allowed lag, then names each projection lagging past it', async () => {
    await t.engine.projections.stop();
    try {
      await appendEvents(2);
      expect((await t.http.get('/ready').expect(200)).body.projection_lags).toEqual(
        Object.fromEntries(PROJECTIONS.map((p) => [p, 2])),
      );

      const head = await appendEvents(1);
      const response = await t.http.get('/ready').expect(503);
      expect(response.body).toEqual({
        status: 'not_ready',
        reasons: PROJECTIONS.map(
          (p) => `projection ${p} lags 3 events behind the log (head ${head}, at most 2 allowed)`,
        ),
      });
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      expect(sample(metrics, 'rapidly_projection_lag_events{projection="deliveries"}')).toBe(3);
    } finally {
      t.engine.projections.start();
    }
    await t.engine.projections.waitFor(await t.engine.eventStore.headPosition());
    const ready = await t.http.get('/ready').expect(200);
    expect(ready.body.projection_lags).toEqual(Object.fromEntries(PROJECTIONS.map((p) => [p, 0])));
  });
});
