/**
 * `npm run bench -- delivery`: sustained delivery throughput of the whole service (publish API →
 * delivery saga → due-work queue → dispatcher → HttpSender) next to a plain loop that signs and
 * POSTs the same bodies with the same HTTP client settings, plus publish → receipt latency at a
 * fixed publish rate. See bench/README.md for what each figure means.
 */
// First: src/app loads reflect-metadata, which the Nest modules imported below need.
import { createApp } from '../src/app';
import { randomBytes } from 'node:crypto';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AccessTokensService } from '../src/auth/access-tokens.service';
import { uuidv7 } from '../src/common/ids';
import { WebhookEventType } from '../src/common/webhook-event-types';
import { AppConfig, loadConfig } from '../src/config/config';
import { USER_AGENT } from '../src/delivery/delivery.module';
import { renderRaw } from '../src/delivery/formats/raw';
import { DEFAULT_MAX_SOCKETS, HttpSender } from '../src/delivery/http-sender';
import { signatureHeaders } from '../src/delivery/signing';
import {
  describeCpu,
  filesystemOf,
  fmt,
  median,
  mulberry32,
  progressFor,
  quantile,
  withTempRoot,
} from './support';

/** Deliveries per throughput run, baseline and service alike (the service: half as many events). */
const DEFAULT_DELIVERIES = 10_000;
/** Raw endpoints (each on its own receiver) every throughput-run publication fans out to. */
const ENDPOINTS = 2;
/** Publish requests in flight at once during a throughput run (a client with a bounded pool). */
const PUBLISH_CONCURRENCY = 64;
/**
 * Keep-alive connections of the publishing client, all opened before any timing. Node accepts
 * about one new connection per event-loop turn, so a burst of new connections to a loaded server
 * waits seconds in its accept queue: a client that connects mid-run measures that, not publishing.
 */
const CLIENT_SOCKETS = 128;
const REPETITIONS = 3;
/** Fixed publish rate and duration of the latency run (1 endpoint). */
const LATENCY_RATE = 500;
const LATENCY_SECONDS = 10;
/** Publish requests allowed in flight during the latency run; past it the publisher falls behind. */
const LATENCY_MAX_OUTSTANDING = 1_000;
/** A publish request starting later than this after its slot counts as the publisher falling behind. */
const PACING_TOLERANCE_MS = 10;
/** A run that has not received everything after this long is a failure, not a slow result. */
const RUN_TIMEOUT_MS = 120_000;
/** Acceptance targets of issue 3. */
const TARGET_RATIO = 0.25;
const TARGET_P99_MS = 50;
const EVENT_TYPE: WebhookEventType = 'customer.created';
/** Distinct `data` objects the payloads cycle through. */
const DISTINCT_PAYLOADS = 1_000;

type Part = 'baseline' | 'service' | 'latency';
const PARTS: readonly Part[] = ['baseline', 'service', 'latency'];

interface Options {
  baseDir: string;
  deliveries: number;
  /** The parts to run; all by default (`--only` narrows it, e.g. for profiling one of them). */
  parts: ReadonlySet<Part>;
}

const USAGE =
  'Usage: npm run bench -- delivery [--dir <parent of temp dirs>] [--deliveries <n >= 100>]\n' +
  '                                 [--only baseline|service|latency|throughput]\n';

export async function runDeliveryBench(args: readonly string[]): Promise<number> {
  const options: Options = {
    baseDir: tmpdir(),
    deliveries: DEFAULT_DELIVERIES,
    parts: new Set(PARTS),
  };
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    if (args[i] === '--dir' && value) {
      options.baseDir = value;
      i++;
    } else if (args[i] === '--deliveries' && value && /^\d+$/.test(value) && Number(value) >= 100) {
      options.deliveries = Number(value);
      i++;
    } else if (args[i] === '--only' && value && [...PARTS, 'throughput'].includes(value)) {
      options.parts = new Set(
        value === 'throughput' ? (['baseline', 'service'] as const) : [value as Part],
      );
      i++;
    } else {
      process.stderr.write(`Unknown or invalid option ${args[i]}\n${USAGE}`);
      return 2;
    }
  }

  return withTempRoot(options.baseDir, 'rapidly-bench-delivery-', async (root) => {
    const receivers = await Receivers.start(ENDPOINTS);
    try {
      return await benchmark(root, options, receivers);
    } finally {
      await receivers.close();
    }
  });
}

async function benchmark(root: string, options: Options, receivers: Receivers): Promise<number> {
  const started = performance.now();
  const { parts } = options;
  const config = serviceConfig(join(root, 'probe'));
  const payloads = buildPayloads(DISTINCT_PAYLOADS);
  const sizes = payloads.map((data) => Buffer.byteLength(renderBody(data, new Date())));
  progress(
    `workload: ${fmt(options.deliveries)} deliveries per throughput run, raw bodies ${Math.min(...sizes)}-${Math.max(...sizes)} B (mean ${fmt(mean(sizes))} B), WEBHOOK_MAX_IN_FLIGHT=${config.delivery.maxInFlight}`,
  );

  let serviceRuns = 0;
  const service = (deliveries: number) =>
    runService(join(root, `service-${++serviceRuns}`), receivers, payloads, deliveries);
  const baseline = (deliveries: number) => runBaseline(config, receivers, payloads, deliveries);

  const baselineRuns: ThroughputRun[] = [];
  const serviceRunsDone: ServiceRun[] = [];
  if (parts.has('baseline') || parts.has('service')) {
    progress('warm-up (not reported)');
    if (parts.has('baseline')) await baseline(Math.min(options.deliveries, 2_000));
    if (parts.has('service')) await service(Math.min(options.deliveries, 1_000));
    // Interleaved, so that drift in machine load hits both alike.
    for (let rep = 1; rep <= REPETITIONS; rep++) {
      if (parts.has('baseline')) {
        const b = await baseline(options.deliveries);
        baselineRuns.push(b);
        progress(
          `run ${rep}/${REPETITIONS}  baseline  ${fmt(b.deliveries)} deliveries in ${b.seconds.toFixed(3)} s = ${fmt(b.rate).padStart(7)} deliveries/s`,
        );
      }
      if (parts.has('service')) {
        const s = await service(options.deliveries);
        serviceRunsDone.push(s);
        progress(
          `run ${rep}/${REPETITIONS}  service   ${fmt(s.deliveries)} deliveries in ${s.seconds.toFixed(3)} s = ${fmt(s.rate).padStart(7)} deliveries/s (publishing took ${s.publishSeconds.toFixed(3)} s)`,
        );
      }
    }
  }

  let latency: LatencyRun | undefined;
  if (parts.has('latency')) {
    progress(`latency run: ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s, 1 endpoint`);
    latency = await runLatency(join(root, 'latency'), receivers, payloads);
  }

  const out: string[] = [];
  out.push('');
  out.push(
    'Delivery throughput and latency (service on the embedded engine vs a sign-and-POST loop)',
  );
  out.push(describeEnvironment(root));
  out.push(
    `HTTP client of both: HttpSender, keep-alive, maxSockets ${DEFAULT_MAX_SOCKETS}, timeout ${config.delivery.timeoutMs} ms, ${config.delivery.maxInFlight} deliveries in flight (WEBHOOK_MAX_IN_FLIGHT)`,
  );
  out.push(
    `Receivers: ${ENDPOINTS} local http servers answering 200 at once; raw bodies ${Math.min(...sizes)}-${Math.max(...sizes)} B`,
  );
  let pass = true;

  if (baselineRuns.length > 0 || serviceRunsDone.length > 0) {
    out.push(
      'Throughput: deliveries/s from the first send (baseline) or the first publish request (service) to the last receipt;',
    );
    out.push(
      `median of ${REPETITIONS} runs after a warm-up; each service run on a fresh database, ${ENDPOINTS} raw endpoints, ${PUBLISH_CONCURRENCY} publish requests in flight.`,
    );
    out.push(
      'CPU ms/1k: CPU time (user + system) of the whole process per 1,000 deliveries, receivers and clients included.',
    );
    out.push('');
    const header = [
      'workload'.padEnd(48),
      'deliveries'.padStart(10),
      ...Array.from({ length: REPETITIONS }, (_, i) => `run ${i + 1}`.padStart(8)),
      'median'.padStart(8),
      'vs baseline'.padStart(11),
      'CPU ms/1k'.padStart(9),
    ].join('  ');
    out.push(header);
    out.push('-'.repeat(header.length));
    const row = (
      label: string,
      runs: Array<Omit<ThroughputRun, 'cpuPerThousand'>>,
      vs: string,
      cpu = '',
    ) =>
      [
        label.padEnd(48),
        fmt(runs[0].deliveries).padStart(10),
        ...runs.map((r) => fmt(r.rate).padStart(8)),
        fmt(median(runs.map((r) => r.rate))).padStart(8),
        vs.padStart(11),
        cpu.padStart(9),
      ].join('  ');
    const cpu = (runs: ThroughputRun[]) => fmt(median(runs.map((r) => r.cpuPerThousand)));
    const ratio =
      baselineRuns.length > 0 && serviceRunsDone.length > 0
        ? median(serviceRunsDone.map((r) => r.rate)) / median(baselineRuns.map((r) => r.rate))
        : undefined;
    if (baselineRuns.length > 0) {
      out.push(row('baseline: sign + POST loop', baselineRuns, '1.00', cpu(baselineRuns)));
    }
    if (serviceRunsDone.length > 0) {
      out.push(
        row(
          'service: publish API → saga → dispatcher',
          serviceRunsDone,
          ratio === undefined ? '' : ratio.toFixed(2),
          cpu(serviceRunsDone),
        ),
      );
      out.push(
        row(
          '  publishing alone (events/s, 202 received)',
          serviceRunsDone.map((r) => ({
            deliveries: r.deliveries / ENDPOINTS,
            seconds: r.publishSeconds,
            rate: r.deliveries / ENDPOINTS / r.publishSeconds,
          })),
          '',
        ),
      );
      const duplicates = serviceRunsDone.reduce((n, r) => n + r.duplicates, 0);
      out.push(
        `(service runs: every published (event, endpoint) pair was received; ${duplicates} duplicate receipt(s); publish 202 p50/p99 ${ms(median(serviceRunsDone.map((r) => r.publishP50)))}/${ms(median(serviceRunsDone.map((r) => r.publishP99)))} ms)`,
      );
    }
    if (ratio !== undefined) {
      const ratioPass = ratio >= TARGET_RATIO;
      pass &&= ratioPass;
      out.push('');
      out.push(
        `${ratioPass ? 'PASS' : 'FAIL'}: the service reaches ${ratio.toFixed(2)} of the baseline's deliveries/s (target >= ${TARGET_RATIO.toFixed(2)})`,
      );
    }
  }

  if (latency) {
    const p99 = quantile(latency.latencies, 0.99);
    const latencyPass = p99 <= TARGET_P99_MS;
    pass &&= latencyPass;
    out.push('');
    out.push(
      `Latency at ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s (1 raw endpoint, fresh database): publish request start → receipt, ms`,
    );
    const latencyHeader = [
      'events'.padStart(7),
      'p50'.padStart(7),
      'p90'.padStart(7),
      'p99'.padStart(7),
      'max'.padStart(7),
      '   202 p50'.padStart(10),
      '202 p99'.padStart(7),
    ].join('  ');
    out.push(latencyHeader);
    out.push('-'.repeat(latencyHeader.length));
    out.push(
      [
        fmt(latency.latencies.length).padStart(7),
        ms(quantile(latency.latencies, 0.5)).padStart(7),
        ms(quantile(latency.latencies, 0.9)).padStart(7),
        ms(p99).padStart(7),
        ms(Math.max(...latency.latencies)).padStart(7),
        ms(quantile(latency.publishLatencies, 0.5)).padStart(10),
        ms(quantile(latency.publishLatencies, 0.99)).padStart(7),
      ].join('  '),
    );
    const late = latency.lags.filter((l) => l > PACING_TOLERANCE_MS).length;
    out.push(
      `publisher pacing: ${fmt(latency.latencies.length)} events sent at ${latency.achievedRate.toFixed(1)} events/s (target ${LATENCY_RATE}); ` +
        `start behind schedule p50/p99/max ${ms(quantile(latency.lags, 0.5))}/${ms(quantile(latency.lags, 0.99))}/${ms(Math.max(...latency.lags))} ms, ` +
        `${fmt(late)} event(s) more than ${PACING_TOLERANCE_MS} ms late; at most ${fmt(latency.maxOutstanding)} publish requests in flight`,
    );
    out.push('');
    out.push(
      `${latencyPass ? 'PASS' : 'FAIL'}: p99 publish → receipt latency ${ms(p99)} ms at ${LATENCY_RATE} events/s (target <= ${TARGET_P99_MS} ms)`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return pass ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Receivers

/**
 * Plain http servers on 127.0.0.1 answering 200 as soon as the body is in. No signature check in
 * the hot path: they count requests and note the first arrival time of each webhook-id.
 */
class Receivers {
  readonly urls: string[];
  /** webhook-id → performance.now() when its body had fully arrived (first arrival only). */
  arrivals = new Map<string, number>();
  requests = 0;
  duplicates = 0;
  private waiter: { count: number; resolve(): void } | undefined;

  private constructor(private readonly servers: http.Server[]) {
    this.urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`);
    for (const server of servers) server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(count: number): Promise<Receivers> {
    const servers: http.Server[] = [];
    for (let i = 0; i < count; i++) {
      const server = http.createServer();
      // Longer than the sender's idle-socket timeout, so the sender always closes first.
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(server);
    }
    return new Receivers(servers);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('data', noop);
    req.on('end', () => {
      const at = performance.now();
      this.requests++;
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') {
        if (this.arrivals.has(id)) this.duplicates++;
        else this.arrivals.set(id, at);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
      if (this.waiter && this.arrivals.size >= this.waiter.count) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve();
      }
    });
  }

  reset(): void {
    this.arrivals = new Map();
    this.requests = 0;
    this.duplicates = 0;
  }

  /** Resolves once `count` distinct webhook-ids arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = RUN_TIMEOUT_MS): Promise<void> {
    if (this.arrivals.size >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(
          new Error(
            `receivers got ${fmt(this.arrivals.size)} of ${fmt(count)} webhooks within ${timeoutMs / 1000} s`,
          ),
        );
      }, timeoutMs);
      this.waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }

  lastArrival(): number {
    let last = 0;
    for (const at of this.arrivals.values()) last = Math.max(last, at);
    return last;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Baseline

interface ThroughputRun {
  deliveries: number;
  seconds: number;
  rate: number;
  /** CPU time (user + system) of the whole process per 1,000 deliveries, in ms. */
  cpuPerThousand: number;
}

/**
 * The ceiling: pre-rendered bodies of the service's size, each signed (signing.ts) and POSTed with
 * an HttpSender built exactly as the service builds it, WEBHOOK_MAX_IN_FLIGHT at a time, round-robin
 * over the receivers. No database, no fan-out, no bookkeeping.
 */
async function runBaseline(
  config: AppConfig,
  receivers: Receivers,
  payloads: Array<Record<string, unknown>>,
  deliveries: number,
): Promise<ThroughputRun> {
  const sender = new HttpSender({
    timeoutMs: config.delivery.timeoutMs,
    allowPrivateNetworks: true,
    userAgent: USER_AGENT,
  });
  const secrets = receivers.urls.map(() => `whsec_${randomBytes(32).toString('base64')}`);
  const ids = Array.from({ length: deliveries }, () => uuidv7());
  const now = new Date();
  const bodies = Array.from({ length: deliveries }, (_, i) =>
    renderBody(payloads[Math.floor(i / ENDPOINTS) % payloads.length], now),
  );
  receivers.reset();
  const received = receivers.waitFor(deliveries);
  let next = 0;
  let failures = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const worker = async (): Promise<void> => {
    while (next < deliveries) {
      const i = next++;
      const target = i % receivers.urls.length;
      const outcome = await sender.send({
        url: receivers.urls[target],
        body: bodies[i],
        headers: signatureHeaders({
          webhookId: ids[i],
          timestamp: new Date(),
          body: bodies[i],
          secrets: [secrets[target]],
        }),
      });
      if (outcome.kind !== 'response' || outcome.httpCode !== 200) failures++;
    }
  };
  try {
    await Promise.all(Array.from({ length: config.delivery.maxInFlight }, worker));
    if (failures > 0) throw new Error(`baseline: ${failures} send(s) failed`);
    await received;
    const seconds = (receivers.lastArrival() - start) / 1000;
    return {
      deliveries,
      seconds,
      rate: deliveries / seconds,
      cpuPerThousand: cpuMs(cpu) / (deliveries / 1000),
    };
  } finally {
    sender.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Service

interface Service {
  port: number;
  publisherToken: string;
  endpointIds: string[];
  agent: http.Agent;
  close(): Promise<void>;
}

interface ServiceRun extends ThroughputRun {
  publishSeconds: number;
  publishP50: number;
  publishP99: number;
  duplicates: number;
}

/** Only the variables that tune delivery are taken from the environment. */
function serviceConfig(dataDir: string): AppConfig {
  const env: Record<string, string | undefined> = { LOG_LEVEL: 'error' };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('WEBHOOK_')) env[name] = value;
  }
  return loadConfig({
    ...env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
}

/** The real app on a fresh DATA_DIR, listening on 127.0.0.1, with raw endpoints on `urls`. */
async function startService(dataDir: string, urls: readonly string[]): Promise<Service> {
  const { app } = await createApp(serviceConfig(dataDir));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer() as http.Server).address() as AddressInfo;
  const tokens = app.get(AccessTokensService);
  const workspaceId = uuidv7();
  const issue = async (scopes: Array<'webhooks:read' | 'webhooks:write' | 'webhooks:publish'>) =>
    (await tokens.issue({ kind: 'workspace', userName: null, workspaceIds: [workspaceId], scopes }))
      .token;
  const admin = await issue(['webhooks:read', 'webhooks:write']);
  const publisherToken = await issue(['webhooks:publish']);
  // FIFO: every pooled connection stays in use, so none idles into the server's keep-alive timeout.
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: CLIENT_SOCKETS,
    scheduling: 'fifo',
  });
  const endpointIds: string[] = [];
  for (const url of urls) {
    const response = await postJson(agent, port.port, '/api/webhooks/endpoints', admin, {
      url,
      format: 'raw',
      events: [EVENT_TYPE],
    });
    if (response.status !== 201) {
      throw new Error(`creating an endpoint answered ${response.status}: ${response.body}`);
    }
    endpointIds.push((JSON.parse(response.body) as { id: string }).id);
  }
  await Promise.all(
    Array.from({ length: CLIENT_SOCKETS }, () => getStatus(agent, port.port, '/health')),
  );
  return {
    port: port.port,
    publisherToken,
    endpointIds,
    agent,
    async close() {
      agent.destroy();
      await app.close();
    },
  };
}

/** Publishes one event; returns its webhook event ids and the request's start time. */
async function publish(
  service: Service,
  data: Record<string, unknown>,
): Promise<{ started: number; answered: number; ids: string[] }> {
  const started = performance.now();
  const response = await postJson(
    service.agent,
    service.port,
    '/api/webhooks/events',
    service.publisherToken,
    { type: EVENT_TYPE, data },
  );
  const answered = performance.now();
  if (response.status !== 202) {
    throw new Error(`publish answered ${response.status}: ${response.body}`);
  }
  const ids = (JSON.parse(response.body) as { webhook_event_ids: string[] }).webhook_event_ids;
  return { started, answered, ids };
}

/**
 * Publishes `deliveries / endpoints` events through the HTTP API, PUBLISH_CONCURRENCY requests in
 * flight, and waits until every (event, endpoint) pair has reached a receiver.
 */
async function runService(
  dataDir: string,
  receivers: Receivers,
  payloads: Array<Record<string, unknown>>,
  deliveries: number,
): Promise<ServiceRun> {
  const service = await startService(dataDir, receivers.urls);
  try {
    const events = Math.ceil(deliveries / ENDPOINTS);
    const total = events * ENDPOINTS;
    receivers.reset();
    const received = receivers.waitFor(total);
    received.catch(noop);
    const expected: string[] = [];
    const publishLatencies: number[] = [];
    let next = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    const worker = async (): Promise<void> => {
      while (next < events) {
        const i = next++;
        const result = await publish(service, payloads[i % payloads.length]);
        publishLatencies.push(result.answered - result.started);
        expected.push(...result.ids);
      }
    };
    await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, worker));
    const publishSeconds = (performance.now() - start) / 1000;
    if (expected.length !== total) {
      throw new Error(`publications listed ${expected.length} webhook events, expected ${total}`);
    }
    await received;
    const missing = expected.filter((id) => !receivers.arrivals.has(id));
    if (missing.length > 0) throw new Error(`${missing.length} published webhooks never arrived`);
    const seconds = (receivers.lastArrival() - start) / 1000;
    return {
      deliveries: total,
      seconds,
      rate: total / seconds,
      cpuPerThousand: cpuMs(cpu) / (total / 1000),
      publishSeconds,
      publishP50: quantile(publishLatencies, 0.5),
      publishP99: quantile(publishLatencies, 0.99),
      duplicates: receivers.duplicates,
    };
  } finally {
    await service.close();
  }
}

interface LatencyRun {
  /** publish request start → first receipt, per event (ms). */
  latencies: number[];
  /** publish request start → 202 (ms). */
  publishLatencies: number[];
  /** How late each publish request started against its schedule (ms). */
  lags: number[];
  achievedRate: number;
  maxOutstanding: number;
}

/**
 * An open-loop publisher: event i is due at start + i / LATENCY_RATE s; a 1 ms timer sends every
 * event that is due, without waiting for earlier answers (up to LATENCY_MAX_OUTSTANDING in flight).
 */
async function runLatency(
  dataDir: string,
  receivers: Receivers,
  payloads: Array<Record<string, unknown>>,
): Promise<LatencyRun> {
  const service = await startService(dataDir, receivers.urls.slice(0, 1));
  try {
    receivers.reset();
    const events = LATENCY_RATE * LATENCY_SECONDS;
    const interval = 1000 / LATENCY_RATE;
    const results: Array<Promise<{ started: number; answered: number; ids: string[] }>> = [];
    const lags: number[] = [];
    let outstanding = 0;
    let maxOutstanding = 0;
    const start = performance.now() + 5;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (results.length < events && outstanding < LATENCY_MAX_OUTSTANDING) {
          const due = start + results.length * interval;
          if (due > now) break;
          lags.push(now - due);
          outstanding++;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
          const result = publish(service, payloads[results.length % payloads.length]);
          result.then(
            () => outstanding--,
            () => outstanding--,
          );
          results.push(result);
        }
        if (results.length < events) setTimeout(tick, 1);
        else resolve();
      };
      setTimeout(tick, 1);
    });
    const published = await Promise.all(results);
    const ids = published.flatMap((p) => p.ids);
    if (ids.length !== events)
      throw new Error(`expected ${events} webhook events, got ${ids.length}`);
    await receivers.waitFor(events);
    const latencies = published.map((p) => receivers.arrivals.get(p.ids[0])! - p.started);
    const first = published[0].started;
    const last = published[published.length - 1].started;
    return {
      latencies,
      publishLatencies: published.map((p) => p.answered - p.started),
      lags,
      achievedRate: ((events - 1) * 1000) / (last - first),
      maxOutstanding,
    };
  } finally {
    await service.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function postJson(
  agent: http.Agent,
  port: number,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function getStatus(agent: http.Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** The body the service renders for a raw endpoint (DESIGN §3), via the service's own renderer. */
function renderBody(data: Record<string, unknown>, timestamp: Date): string {
  return renderRaw({ type: EVENT_TYPE, timestamp: timestamp.toISOString(), workspaceId: '', data });
}

/** customer.created-ish `data`, 300–500 bytes of JSON each (uniformly spread). */
function buildPayloads(count: number): Array<Record<string, unknown>> {
  const random = mulberry32(0xde11);
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const words = ['renewal', 'annual', 'plan', 'team', 'seat', 'invoice', 'trial', 'upgrade'];
  const payloads: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const data = {
      id: `cus_${hex(16)}`,
      email: `customer-${hex(8)}@example.com`,
      name: `Customer ${hex(6)}`,
      created_at: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      metadata: { plan: 'team', seats: 1 + Math.floor(random() * 50), note: '' },
    };
    const target = 300 + Math.floor(random() * 201);
    let note = '';
    while (JSON.stringify(data).length + note.length < target) {
      note += `${words[Math.floor(random() * words.length)]} `;
    }
    data.metadata.note = note.slice(0, target - JSON.stringify(data).length);
    payloads.push(data);
  }
  return payloads;
}

function describeEnvironment(root: string): string {
  return [
    `${describeCpu()}; service, receivers and clients share this one process`,
    `data in ${root} (${filesystemOf(root)}), removed afterwards; SQLite journal_mode=WAL, synchronous=FULL`,
  ].join('\n');
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function ms(n: number): string {
  return n.toFixed(1);
}

function noop(): void {}

/** CPU time (user + system) of this process since `since`, in ms. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

const progress = progressFor('delivery');
