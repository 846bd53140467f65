/**
 * `npm run bench -- delivery`: sustained delivery throughput of the whole service (publish API →
 * delivery saga → due-work queue → dispatcher → HttpSender) next to a plain loop that signs and
 * POSTs the same bodies with the same HTTP client settings, plus publish → receipt latency at a
 * fixed publish rate, with the publisher and receiver of that run in a separate process
 * (bench/load-driver.ts). See bench/README.md for what each figure means.
 */
// First: src/app loads reflect-metadata, which the Nest modules imported below need.
import { createApp } from '../src/app';
import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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
import type { DriverMessage, LoadResults, ParentMessage } from './load-driver';
import {
  describeCpu,
  filesystemOf,
  fmt,
  median,
  mulberry32,
  progressFor,
  quantile,
  withTempRoot,
  localRequest,
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
/**
 * Latency runs, each on a fresh database and load driver; the verdict is on their median p99, as
 * the throughput verdict is on the median of its runs: one 10 s run on a shared machine is moved
 * by whatever else runs in that window.
 */
const LATENCY_RUNS = 3;
/** Published at the same rate before the timed run and not reported: the steady state is measured. */
const LATENCY_WARMUP_SECONDS = 2;
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
  /**
   * `--stand-in <busy ms>`: the latency runs publish to a stand-in instead of the service (see
   * startStandIn), which burns this much CPU per publish: the harness's own floor, and how the
   * tail grows with the CPU an event loop spends per event. Not judged against the target.
   */
  standInBusyMs: number | null;
}

const USAGE =
  'Usage: npm run bench -- delivery [--dir <parent of temp dirs>] [--deliveries <n >= 100>]\n' +
  '                                 [--only baseline|service|latency|throughput]\n' +
  '                                 [--stand-in <busy ms per publish>, with --only latency]\n';

export async function runDeliveryBench(args: readonly string[]): Promise<number> {
  const options: Options = {
    baseDir: tmpdir(),
    deliveries: DEFAULT_DELIVERIES,
    parts: new Set(PARTS),
    standInBusyMs: null,
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
    } else if (args[i] === '--stand-in' && value && /^\d+(\.\d+)?$/.test(value)) {
      options.standInBusyMs = Number(value);
      i++;
    } else {
      process.stderr.write(`Unknown or invalid option ${args[i]}\n${USAGE}`);
      return 2;
    }
  }
  if (
    options.standInBusyMs !== null &&
    (options.parts.size !== 1 || !options.parts.has('latency'))
  ) {
    process.stderr.write(`--stand-in needs --only latency\n${USAGE}`);
    return 2;
  }

  return withTempRoot(options.baseDir, 'rapidly-bench-delivery-', async (root) => {
    // The throughput parts' receivers, in this process (the latency run has its own, in the driver).
    const throughput = options.parts.has('baseline') || options.parts.has('service');
    const receivers = throughput ? await Receivers.start(ENDPOINTS) : undefined;
    try {
      return await benchmark(root, options, receivers);
    } finally {
      await receivers?.close();
    }
  });
}

async function benchmark(
  root: string,
  options: Options,
  receivers: Receivers | undefined,
): Promise<number> {
  const started = performance.now();
  const { parts } = options;
  const config = serviceConfig(join(root, 'probe'));
  const payloads = buildPayloads(DISTINCT_PAYLOADS);
  const sizes = payloads.map((data) => Buffer.byteLength(renderBody(data, new Date())));
  progress(
    `workload: ${fmt(options.deliveries)} deliveries per throughput run, raw bodies ${Math.min(...sizes)}-${Math.max(...sizes)} B (mean ${fmt(mean(sizes))} B), WEBHOOK_MAX_IN_FLIGHT=${config.delivery.maxInFlight}`,
  );

  const baselineRuns: ThroughputRun[] = [];
  const serviceRunsDone: ServiceRun[] = [];
  if (receivers) {
    let serviceRuns = 0;
    const service = (deliveries: number) =>
      runService(join(root, `service-${++serviceRuns}`), receivers, payloads, deliveries);
    const baseline = (deliveries: number) => runBaseline(config, receivers, payloads, deliveries);
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

  const latencyRuns: LatencyRun[] = [];
  if (parts.has('latency')) {
    if (options.standInBusyMs !== null) {
      progress(
        `latency runs against a stand-in (202 at once, ${options.standInBusyMs} ms of CPU per publish, body forwarded), not the service`,
      );
    }
    progress(
      `latency: ${LATENCY_RUNS} runs of ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s, each after a ${LATENCY_WARMUP_SECONDS} s warm-up at the same rate, 1 endpoint; publisher and receiver in a separate process`,
    );
    for (let run = 1; run <= LATENCY_RUNS; run++) {
      const dataDir = join(root, `latency-${run}`);
      const busyMs = options.standInBusyMs;
      const result = await runLatency(payloads, (receiverUrl) =>
        busyMs === null
          ? startService(dataDir, [receiverUrl], 0)
          : startStandIn(receiverUrl, busyMs),
      );
      latencyRuns.push(result);
      progress(
        `latency run ${run}/${LATENCY_RUNS}: p50 ${ms(quantile(result.latencies, 0.5))} ms, p99 ${ms(quantile(result.latencies, 0.99))} ms`,
      );
    }
  }

  const out: string[] = [];
  out.push('');
  out.push(
    'Delivery throughput and latency (service on the embedded engine vs a sign-and-POST loop)',
  );
  out.push(describeEnvironment(root, parts));
  out.push(
    `HTTP client of both: HttpSender, keep-alive, maxSockets ${DEFAULT_MAX_SOCKETS}, timeout ${config.delivery.timeoutMs} ms, ${config.delivery.maxInFlight} deliveries in flight (WEBHOOK_MAX_IN_FLIGHT)`,
  );
  const receiverPlaces = [
    ...(receivers ? [`throughput: ${ENDPOINTS} in this process`] : []),
    ...(parts.has('latency') ? ['latency: 1 in the load-driver process'] : []),
  ];
  out.push(
    `Receivers: local http servers answering 200 at once (${receiverPlaces.join('; ')}); raw bodies ${Math.min(...sizes)}-${Math.max(...sizes)} B`,
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

  if (latencyRuns.length > 0) {
    const p99s = latencyRuns.map((run) => quantile(run.latencies, 0.99));
    const p99 = median(p99s);
    const standIn = options.standInBusyMs;
    const latencyPass = p99 <= TARGET_P99_MS;
    if (standIn === null) pass &&= latencyPass;
    out.push('');
    out.push(
      `Latency at ${LATENCY_RATE} events/s for ${LATENCY_SECONDS} s, after ${LATENCY_WARMUP_SECONDS} s at the same rate not reported (1 raw endpoint, fresh database; publisher and receiver run in a separate Node process): publish request start → receipt, ms; ${LATENCY_RUNS} runs`,
    );
    const latencyHeader = [
      'run'.padEnd(6),
      'events'.padStart(7),
      'p50'.padStart(7),
      'p90'.padStart(7),
      'p99'.padStart(7),
      'max'.padStart(7),
      '   202 p50'.padStart(10),
      '202 p99'.padStart(7),
      ' main CPU'.padStart(9),
      'CPU wait'.padStart(8),
    ].join('  ');
    out.push(latencyHeader);
    out.push('-'.repeat(latencyHeader.length));
    const perEvent = (totalMs: number | null, events: number) =>
      totalMs === null ? 'n/a' : (totalMs / events).toFixed(3);
    latencyRuns.forEach((latency, i) => {
      const events = latency.latencies.length;
      out.push(
        [
          String(i + 1).padEnd(6),
          fmt(events).padStart(7),
          ms(quantile(latency.latencies, 0.5)).padStart(7),
          ms(quantile(latency.latencies, 0.9)).padStart(7),
          ms(p99s[i]).padStart(7),
          ms(Math.max(...latency.latencies)).padStart(7),
          ms(quantile(latency.publishLatencies, 0.5)).padStart(10),
          ms(quantile(latency.publishLatencies, 0.99)).padStart(7),
          perEvent(latency.mainThread?.onCpuMs ?? null, events).padStart(9),
          perEvent(latency.mainThread?.waitMs ?? null, events).padStart(8),
        ].join('  '),
      );
    });
    out.push(
      `${'median'.padEnd(6)}  ${''.padStart(7)}  ${ms(median(latencyRuns.map((r) => quantile(r.latencies, 0.5)))).padStart(7)}  ${''.padStart(7)}  ${ms(p99).padStart(7)}`,
    );
    out.push(
      "main CPU / CPU wait: ms per event the service's event-loop thread ran, and was ready to run but waited for a CPU (Linux schedstat; n/a elsewhere).",
    );
    for (const [i, latency] of latencyRuns.entries()) {
      const events = latency.latencies.length;
      const late = latency.lags.filter((l) => l > PACING_TOLERANCE_MS).length;
      out.push(
        `run ${i + 1}: publisher ${latency.achievedRate.toFixed(1)} events/s (target ${LATENCY_RATE}), start behind schedule p50/p99/max ` +
          `${ms(quantile(latency.lags, 0.5))}/${ms(quantile(latency.lags, 0.99))}/${ms(Math.max(...latency.lags))} ms, ` +
          `${fmt(late)} event(s) more than ${PACING_TOLERANCE_MS} ms late, at most ${fmt(latency.maxOutstanding)} publish requests in flight; ` +
          `service CPU (user + system of this process) ${(latency.serviceCpuMs / events).toFixed(3)} ms/event, load driver (not charged) ` +
          `${(latency.driverCpuMs / events).toFixed(3)} ms/event; ${fmt(latency.duplicates)} duplicate receipt(s)`,
      );
    }
    out.push('');
    out.push(
      standIn === null
        ? `${latencyPass ? 'PASS' : 'FAIL'}: p99 publish → receipt latency ${ms(p99)} ms at ${LATENCY_RATE} events/s, median of ${LATENCY_RUNS} runs (${p99s.map(ms).join(', ')}; target <= ${TARGET_P99_MS} ms)`
        : `Not judged: a stand-in, not the service, answered the latency runs (202 at once, then ${standIn} ms of CPU and the forward per publish); p99 ${ms(p99)} ms, median of ${LATENCY_RUNS} runs (${p99s.map(ms).join(', ')})`,
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

/**
 * The real app on a fresh DATA_DIR, listening on 127.0.0.1, with raw endpoints on `urls`, and a
 * client pool with `warmSockets` connections open (the latency run's publisher brings its own).
 */
async function startService(
  dataDir: string,
  urls: readonly string[],
  warmSockets = CLIENT_SOCKETS,
): Promise<Service> {
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
    Array.from({ length: warmSockets }, () => getStatus(agent, port.port, '/health')),
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
  duplicates: number;
  /** CPU time (user + system) of this process, the service's, from `go` to the results (ms). */
  serviceCpuMs: number;
  /** CPU time of the load-driver process over the same span (ms). */
  driverCpuMs: number;
  /** The service's event-loop thread over the same span (Linux only, else null). */
  mainThread: ThreadTimes | null;
}

/**
 * The service in this process with one raw endpoint on the load driver's receiver; the driver (a
 * separate Node process, bench/load-driver.ts) runs the open-loop publisher: event i is due at
 * start + i / LATENCY_RATE s, a 1 ms timer sends every event that is due without waiting for
 * earlier answers (up to LATENCY_MAX_OUTSTANDING in flight). All times come from the driver's clock.
 */
async function runLatency(
  payloads: Array<Record<string, unknown>>,
  startTarget: (receiverUrl: string) => Promise<LatencyTarget>,
): Promise<LatencyRun> {
  const driver = await LoadDriver.start();
  try {
    const { receiverUrl } = await driver.next('ready', 30_000);
    const service = await startTarget(receiverUrl);
    try {
      driver.send({
        type: 'prepare',
        port: service.port,
        token: service.publisherToken,
        eventType: EVENT_TYPE,
        payloads,
        rate: LATENCY_RATE,
        seconds: LATENCY_SECONDS,
        warmupSeconds: LATENCY_WARMUP_SECONDS,
        sockets: CLIENT_SOCKETS,
        maxOutstanding: LATENCY_MAX_OUTSTANDING,
        timeoutMs: RUN_TIMEOUT_MS,
      });
      await driver.next('warmed', 60_000);
      const cpu = process.cpuUsage();
      const thread = threadTimes();
      driver.send({ type: 'go' });
      const results = await driver.next(
        'results',
        LATENCY_SECONDS * 1000 + RUN_TIMEOUT_MS + 60_000,
      );
      const serviceCpuMs = cpuMs(cpu);
      const after = threadTimes();
      const mainThread =
        thread && after
          ? { onCpuMs: after.onCpuMs - thread.onCpuMs, waitMs: after.waitMs - thread.waitMs }
          : null;
      return summariseLatency(results, serviceCpuMs, mainThread);
    } finally {
      // The driver first: its pooled connections to the service go with it.
      await driver.close();
      await service.close();
    }
  } finally {
    await driver.close();
  }
}

/** What the latency runs publish to: the service, or the stand-in. */
interface LatencyTarget {
  port: number;
  publisherToken: string;
  close(): Promise<void>;
}

/**
 * The harness without the service: a plain node:http server in this process that answers every
 * publish with 202 at once (a fresh webhook id) and then POSTs its body, with that id, to the
 * load driver's receiver over a keep-alive pool, after burning `busyMs` of CPU. Run through the
 * same latency runs, it shows the floor of the measurement and how p99 grows as an event loop
 * gets busier.
 */
async function startStandIn(receiverUrl: string, busyMs: number): Promise<LatencyTarget> {
  const target = new URL(receiverUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: DEFAULT_MAX_SOCKETS });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const body = Buffer.concat(chunks);
      const id = uuidv7();
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id, webhook_event_ids: [id] }));
      const until = performance.now() + busyMs;
      while (performance.now() < until) {
        // the CPU a service would spend on this event
      }
      const forward = http.request({
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'webhook-id': id,
        },
      });
      forward.on('response', (response) => response.resume());
      forward.on('error', () => undefined);
      forward.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    publisherToken: 'stand-in',
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function summariseLatency(
  results: LoadResults,
  serviceCpuMs: number,
  mainThread: ThreadTimes | null,
): LatencyRun {
  const { started, answered, received } = results;
  const events = LATENCY_RATE * LATENCY_SECONDS;
  if (started.length !== events || answered.length !== events || received.length !== events) {
    throw new Error(`the load driver reported ${started.length} events, expected ${events}`);
  }
  return {
    latencies: started.map((t, i) => received[i] - t),
    publishLatencies: started.map((t, i) => answered[i] - t),
    lags: results.lags,
    achievedRate: ((events - 1) * 1000) / (started[events - 1] - started[0]),
    maxOutstanding: results.maxOutstanding,
    duplicates: results.duplicates,
    serviceCpuMs,
    driverCpuMs: results.driverCpuMs,
    mainThread,
  };
}

interface ThreadTimes {
  /** Time this thread ran on a CPU (ms). */
  onCpuMs: number;
  /** Time it was ready to run but waited for a CPU (ms). */
  waitMs: number;
}

/** The calling thread's scheduler figures (Linux's /proc/thread-self/schedstat), else null. */
function threadTimes(): ThreadTimes | null {
  try {
    const [onCpuNs, waitNs] = readFileSync('/proc/thread-self/schedstat', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return Number.isFinite(onCpuNs) && Number.isFinite(waitNs)
      ? { onCpuMs: onCpuNs / 1e6, waitMs: waitNs / 1e6 }
      : null;
  } catch {
    return null;
  }
}

/**
 * The forked load-driver process (dist/bench/load-driver.js, next to this file once compiled).
 * Its messages are taken in order with `next`; a `failed` message, an exit before the expected
 * message or a timeout rejects with a clear error. `close` ends it (killing it if need be); it also
 * exits by itself when this process goes away (its IPC channel closes).
 */
class LoadDriver {
  private readonly queue: DriverMessage[] = [];
  private waiter: ((outcome: DriverMessage | Error) => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private resultsReceived = false;
  private readonly whenClosed: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: DriverMessage) => {
      if (message.type === 'results') this.resultsReceived = true;
      if (message.type === 'failed') this.fail(new Error(`load driver: ${message.message}`));
      else if (this.waiter) this.waiter(message);
      else this.queue.push(message);
    });
    child.on('error', (error) => this.fail(new Error(`load driver: ${error.message}`)));
    // 'close', not 'exit': it comes after the IPC channel closed, so after the last message.
    this.whenClosed = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.closed = true;
        this.fail(
          new Error(
            `load driver (pid ${child.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`} before finishing its run`,
          ),
        );
        resolve();
      }),
    );
  }

  static async start(): Promise<LoadDriver> {
    const script = join(__dirname, 'load-driver.js');
    if (!existsSync(script)) {
      throw new Error(
        `${script} not found: the latency run forks the compiled load driver (npm run bench builds it)`,
      );
    }
    // No execArgv: flags of this process (--cpu-prof, --inspect) are not the driver's business.
    // Its stdout goes to our stderr, so that stdout keeps only the result table.
    const child = fork(script, [], { execArgv: [], stdio: ['ignore', 2, 2, 'ipc'] });
    return new LoadDriver(child);
  }

  send(message: ParentMessage): void {
    if (this.failure) throw this.failure;
    this.child.send(message);
  }

  /** The driver's next message, which must be of `type`, within `timeoutMs`. */
  next<T extends DriverMessage['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<DriverMessage, { type: T }>> {
    const check = (message: DriverMessage) => {
      if (message.type !== type) {
        throw new Error(`load driver: expected a '${type}' message, got '${message.type}'`);
      }
      return message as Extract<DriverMessage, { type: T }>;
    };
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued).then(check);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`load driver: no '${type}' message within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiter = (outcome) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (outcome instanceof Error) reject(outcome);
        else {
          try {
            resolve(check(outcome));
          } catch (error) {
            reject(error);
          }
        }
      };
    });
  }

  /**
   * Ends the driver: after its results it exits by itself, otherwise (an error on either side) it
   * is stopped at once; SIGKILL if it is still there after 5 s. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.resultsReceived) this.child.kill('SIGTERM');
    const grace = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.whenClosed;
    clearTimeout(grace);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiter?.(this.failure);
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
  return localRequest(agent, port, 'POST', path, { token, body: JSON.stringify(body) });
}

async function getStatus(agent: http.Agent, port: number, path: string): Promise<number> {
  return (await localRequest(agent, port, 'GET', path)).status;
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

function describeEnvironment(root: string, parts: ReadonlySet<Part>): string {
  const where: string[] = [];
  if (parts.has('baseline') || parts.has('service')) {
    where.push(
      'throughput: service or baseline loop, receivers and publishing client share this one process',
    );
  }
  if (parts.has('latency')) {
    where.push(
      'latency: service alone in this process, publisher and receiver in a separate Node process (bench/load-driver.ts)',
    );
  }
  return [
    `${describeCpu()}; ${where.join('; ')}`,
    `data in ${root} (${filesystemOf(root)}), removed afterwards; SQLite journal_mode=WAL, every append fdatasynced before it is acknowledged`,
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
