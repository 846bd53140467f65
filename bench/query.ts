/**
 * `npm run bench -- query`: `GET /api/webhooks/deliveries` on the built service over a synthetic
 * log of 1,000,000 deliveries across 100 endpoints and 10 workspaces (bench/support/synthetic-log.ts),
 * for each filter alone and combined, first and deep pages: p50/p99 per query against the target
 * of issue 4 (every p99 <= 20 ms). The seeded data directory is kept between runs. See
 * bench/README.md for what each figure means.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DATABASE_FILE } from '../src/eventstore/sqlite/sqlite-database';
import {
  SYNTHETIC_LOG_VERSION,
  SyntheticLog,
  SyntheticWorkspace,
  writeSyntheticLog,
} from './support/synthetic-log';
import {
  describeCpu,
  filesystemOf,
  fmt,
  freePort,
  localRequest,
  peakRssBytes,
  progressFor,
  quantile,
} from './support';

const DEFAULT_DELIVERIES = 1_000_000;
const WORKSPACES = 10;
const ENDPOINTS = 100;
const SEED = 1;
/** Acceptance target of issue 4. */
const TARGET_P99_MS = 20;
const DEFAULT_REQUESTS = 200;
/** Requests per query before timing (not reported): JIT, prepared statements, page cache. */
const WARMUP_REQUESTS = 10;
const WARMUP_TIME_LIMIT_MS = 2_000;
/** A query stops being timed after this long, with fewer samples: a slow one must not take hours. */
const QUERY_TIME_LIMIT_MS = 10_000;
/** Timed requests of a query however slow it is. */
const MIN_REQUESTS = 10;
/** How long the service may take to start (a file of an earlier version gets its indexes built). */
const START_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_CACHE_DIR = resolve(__dirname, '..', '..', '.bench-data');
const MAIN = join(__dirname, '..', 'src', 'main.js');
const DELIVERIES_PATH = '/api/webhooks/deliveries';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const USAGE =
  'Usage: npm run bench -- query [--deliveries <n >= 1000>] [--dir <cache directory>] [--fresh]\n' +
  '                              [--requests <n >= 20>] [--only <text in a query label>]\n' +
  '                              [--responses <file for the first answer to each query>]\n';

interface Options {
  deliveries: number;
  cacheDir: string;
  fresh: boolean;
  requests: number;
  only: string | null;
  responsesFile: string | null;
}

/** What a cached data directory holds besides the database: how it was made, and its tokens. */
interface Manifest {
  log: SyntheticLog;
  generatedAt: string;
}

/** One row of the table: a query string (without page) and the pages to time it at. */
interface QuerySpec {
  label: string;
  /** The token of the busiest workspace, or a user token on all of them. */
  token: 'workspace' | 'user';
  params: Array<[string, string]>;
  /** `middle`: the page halfway through, the farthest from both ends. */
  pages: Page[];
  limit?: number;
}

type Page = number | 'middle' | 'last';

interface Row {
  label: string;
  token: 'workspace' | 'user';
  page: number;
  limit: number;
  rows: number;
  total: number;
  /** The first request of this query (for page 1: the first with these filters at all). */
  firstMs: number;
  latencies: number[];
}

export async function runQueryBench(args: readonly string[]): Promise<number> {
  const options: Options = {
    deliveries: DEFAULT_DELIVERIES,
    cacheDir: DEFAULT_CACHE_DIR,
    fresh: false,
    requests: DEFAULT_REQUESTS,
    only: null,
    responsesFile: null,
  };
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    const count = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
    if (args[i] === '--deliveries' && count >= 1000) {
      options.deliveries = count;
      i++;
    } else if (args[i] === '--requests' && count >= 20) {
      options.requests = count;
      i++;
    } else if (args[i] === '--dir' && value) {
      options.cacheDir = resolve(value);
      i++;
    } else if (args[i] === '--only' && value) {
      options.only = value;
      i++;
    } else if (args[i] === '--responses' && value) {
      options.responsesFile = resolve(value);
      i++;
    } else if (args[i] === '--fresh') {
      options.fresh = true;
    } else {
      process.stderr.write(`Unknown or invalid option ${args[i]}\n${USAGE}`);
      return 2;
    }
  }

  const started = performance.now();
  const { dataDir, manifest, seededNow } = await seeded(options);
  const { log } = manifest;
  const dbBytes = statSync(join(dataDir, DATABASE_FILE)).size;
  const workspace = log.workspaces.reduce((a, b) => (b.deliveries > a.deliveries ? b : a));
  progress(
    `data: ${fmt(log.counts.deliveries)} deliveries, ${fmt(log.counts.events)} events, ${fmt(dbBytes / 2 ** 20)} MiB in ${dataDir}`,
  );

  const service = await ServiceProcess.start(dataDir);
  try {
    progress(`service started in ${(service.startMs / 1000).toFixed(1)} s (pid ${service.pid})`);
    const client = new Client(service.port, {
      workspace: workspace.readToken,
      user: log.userReadToken,
    });
    try {
      const loadBefore = loadavg()[0];
      const specs = await querySpecs(client, log, workspace);
      const rows: Row[] = [];
      const responses: string[] = [];
      for (const spec of specs) {
        if (options.only !== null && !spec.label.includes(options.only)) continue;
        const limit = spec.limit ?? 10;
        // The first request with these filters: nothing about them is known to the service yet.
        const first = await client.page(spec, 1, limit);
        const { total } = (JSON.parse(first.body) as ListBody).meta;
        const pages = Math.max(1, Math.ceil(total / limit));
        for (const page of spec.pages) {
          const number = page === 'last' ? pages : page === 'middle' ? Math.ceil(pages / 2) : page;
          if (number > pages) continue;
          if (rows.some((r) => r.label === spec.label && r.page === number)) continue;
          const row = await measure(client, spec, number, limit, options.requests);
          if (number === 1) row.firstMs = first.ms;
          rows.push(row);
          responses.push(JSON.stringify({ label: spec.label, page: number, ...row.first }));
          progress(
            `${spec.label} page ${number}: p50 ${ms(quantile(row.latencies, 0.5))} ms, p99 ${ms(quantile(row.latencies, 0.99))} ms (${row.latencies.length} requests)`,
          );
        }
      }
      if (options.responsesFile) writeFileSync(options.responsesFile, `${responses.join('\n')}\n`);
      const peakRss = service.peakRssBytes();
      const load = [loadBefore, loadavg()[0]];
      process.stdout.write(
        report({
          options,
          log,
          manifest,
          dataDir,
          dbBytes,
          workspace,
          service,
          peakRss,
          load,
          rows,
        }),
      );
      progress(
        `done in ${((performance.now() - started) / 1000).toFixed(1)} s${seededNow ? ' (seeding included)' : ''}`,
      );
      return rows.every((r) => quantile(r.latencies, 0.99) <= TARGET_P99_MS) ? 0 : 1;
    } finally {
      client.close();
    }
  } finally {
    await service.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Data

/**
 * The data directory for these parameters: the cached one, or a new one seeded now (written
 * beside it and renamed into place once complete, so an interrupted seeding is never reused).
 */
async function seeded(
  options: Options,
): Promise<{ dataDir: string; manifest: Manifest; seededNow: boolean }> {
  const name = `query-${options.deliveries}-w${WORKSPACES}-e${ENDPOINTS}-s${SEED}-v${SYNTHETIC_LOG_VERSION}`;
  const dataDir = join(options.cacheDir, name);
  const manifestFile = join(dataDir, 'manifest.json');
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    progress(
      `using the data seeded on ${manifest.generatedAt} in ${manifest.log.seconds.toFixed(0)} s (--fresh seeds it again)`,
    );
    return { dataDir, manifest, seededNow: false };
  }
  const partial = `${dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  progress(
    `seeding ${fmt(options.deliveries)} deliveries across ${ENDPOINTS} endpoints and ${WORKSPACES} workspaces into ${partial} (${filesystemOf(partial)}), read models applied as they are written`,
  );
  const log = await writeSyntheticLog(partial, {
    deliveries: options.deliveries,
    workspaces: WORKSPACES,
    endpoints: ENDPOINTS,
    seed: SEED,
    project: true,
    onProgress: (p) =>
      progress(
        `seeding: ${(p.fraction * 100).toFixed(0).padStart(3)}%  ${fmt(p.deliveries)} deliveries, ${fmt(p.events)} events, ${(p.elapsedMs / 1000).toFixed(0)} s`,
      ),
  });
  const manifest: Manifest = { log, generatedAt: new Date().toISOString() };
  writeFileSync(join(partial, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(partial, dataDir);
  progress(`seeded in ${log.seconds.toFixed(1)} s`);
  return { dataDir, manifest, seededNow: true };
}

/**
 * What is timed: each filter alone, then combined, on the busiest workspace's token (about a
 * seventh of the deliveries), and a few on a user token that sees all ten workspaces.
 */
async function querySpecs(
  client: Client,
  log: SyntheticLog,
  workspace: SyntheticWorkspace,
): Promise<QuerySpec[]> {
  const endpoints = [...workspace.endpoints].sort((a, b) => b.deliveries - a.deliveries);
  const busiest = endpoints[0].id;
  const second = endpoints[1].id;
  const quiet = endpoints[endpoints.length - 1].id;
  // Ids to search for: a delivery from the middle of the workspace's history.
  const sample = await client.page(
    { label: 'sample', token: 'workspace', params: [], pages: [] },
    Math.max(1, Math.floor(workspace.deliveries / 20)),
    10,
  );
  const delivery = (JSON.parse(sample.body) as ListBody).data[0];
  const from = Date.parse(log.from);
  const to = Date.parse(log.to);
  const at = (ms: number) => new Date(ms).toISOString();
  const lastDay = at(to - DAY_MS);
  const firstDays = at(from + 5 * DAY_MS);
  const windowStart = at(from + 9 * DAY_MS);
  const windowEnd = at(from + 11 * DAY_MS);
  const deep = [1, 100, 1000, 'last'] as Page[];
  const firstAndLast = [1, 'last'] as Page[];
  const spec = (
    label: string,
    params: Array<[string, string]>,
    pages: Page[] = firstAndLast,
    extra: Partial<QuerySpec> = {},
  ): QuerySpec => ({ label, token: 'workspace', params, pages, ...extra });
  return [
    spec('no filter', [], [1, 100, 1000, 'middle', 'last']),
    spec('no filter, limit=100', [], firstAndLast, { limit: 100 }),
    spec('endpoint_id', [['endpoint_id', busiest]], [1, 100, 'last']),
    spec('endpoint_id (quietest endpoint)', [['endpoint_id', quiet]]),
    spec('endpoint_id x2', [
      ['endpoint_id', busiest],
      ['endpoint_id', second],
    ]),
    spec('event_type', [['event_type', 'customer.updated']], deep),
    spec('event_type (rare)', [['event_type', 'workspace.updated']]),
    spec('event_type x3', [
      ['event_type', 'customer.created'],
      ['event_type', 'share.created'],
      ['event_type', 'file_sharing_session.payment_received'],
    ]),
    spec('succeeded=true', [['succeeded', 'true']], [1, 1000, 'last']),
    spec('succeeded=false', [['succeeded', 'false']], [1, 100, 'last']),
    spec('http_code_class=2xx', [['http_code_class', '2xx']]),
    spec('http_code_class=4xx', [['http_code_class', '4xx']]),
    spec('http_code_class=5xx', [['http_code_class', '5xx']]),
    spec('start_timestamp (last 24 h)', [['start_timestamp', lastDay]]),
    spec('end_timestamp (first 5 days)', [['end_timestamp', firstDays]]),
    spec('start + end (2 days)', [
      ['start_timestamp', windowStart],
      ['end_timestamp', windowEnd],
    ]),
    spec('query=<delivery id>', [['query', delivery.id]], [1]),
    spec('query=<event id>', [['query', delivery.webhook_event.id]], [1]),
    spec('query=<8 hex digits>', [['query', delivery.id.slice(-8)]], [1]),
    spec('query=503', [['query', '503']]),
    spec('endpoint_id + succeeded=false', [
      ['endpoint_id', busiest],
      ['succeeded', 'false'],
    ]),
    spec('event_type + http_code_class=5xx', [
      ['event_type', 'file_sharing_session.created'],
      ['http_code_class', '5xx'],
    ]),
    spec('endpoint_id + start + end (2 days)', [
      ['endpoint_id', busiest],
      ['start_timestamp', windowStart],
      ['end_timestamp', windowEnd],
    ]),
    spec('event_type + succeeded=true + start (last 24 h)', [
      ['event_type', 'customer.updated'],
      ['succeeded', 'true'],
      ['start_timestamp', lastDay],
    ]),
    spec('endpoint_id x2 + event_type x3 + succeeded=true + 2xx', [
      ['endpoint_id', busiest],
      ['endpoint_id', second],
      ['event_type', 'customer.updated'],
      ['event_type', 'customer.created'],
      ['event_type', 'file_sharing_session.created'],
      ['succeeded', 'true'],
      ['http_code_class', '2xx'],
    ]),
    spec('all seven filters', [
      ['endpoint_id', busiest],
      ['event_type', 'customer.updated'],
      ['succeeded', 'false'],
      ['http_code_class', '5xx'],
      ['start_timestamp', at(from)],
      ['end_timestamp', at(to)],
      ['query', '50'],
    ]),
    spec('user token (10 workspaces): no filter', [], [1, 100, 1000, 'middle', 'last'], {
      token: 'user',
    }),
    spec('user token: succeeded=false', [['succeeded', 'false']], [1], { token: 'user' }),
    spec('user token: endpoint_id', [['endpoint_id', busiest]], [1], { token: 'user' }),
    spec('user token: start_timestamp (last 24 h)', [['start_timestamp', lastDay]], [1], {
      token: 'user',
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Measuring

async function measure(
  client: Client,
  spec: QuerySpec,
  page: number,
  limit: number,
  requests: number,
): Promise<Row & { first: { status: number; body: unknown } }> {
  const first = await client.page(spec, page, limit);
  const body = JSON.parse(first.body) as ListBody;
  const warm = performance.now() + WARMUP_TIME_LIMIT_MS;
  for (let i = 1; i < WARMUP_REQUESTS && performance.now() < warm; i++) {
    await client.page(spec, page, limit);
  }
  const latencies: number[] = [];
  const deadline = performance.now() + QUERY_TIME_LIMIT_MS;
  while (
    latencies.length < requests &&
    (latencies.length < MIN_REQUESTS || performance.now() < deadline)
  ) {
    latencies.push((await client.page(spec, page, limit)).ms);
  }
  return {
    label: spec.label,
    token: spec.token,
    page,
    limit,
    rows: body.data.length,
    total: body.meta.total,
    firstMs: first.ms,
    latencies,
    first: { status: 200, body },
  };
}

interface ListBody {
  data: Array<{ id: string; webhook_event: { id: string } }>;
  meta: { total: number };
}

/** Sequential requests over one keep-alive connection to the service on 127.0.0.1. */
class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly port: number,
    private readonly tokens: Record<QuerySpec['token'], string>,
  ) {}

  /** One page: its body, and how long the request took (the body is not parsed meanwhile). */
  async page(spec: QuerySpec, page: number, limit: number): Promise<{ body: string; ms: number }> {
    const query = new URLSearchParams([
      ...spec.params,
      ['page', String(page)],
      ['limit', String(limit)],
    ]);
    const started = performance.now();
    const response = await localRequest(
      this.agent,
      this.port,
      'GET',
      `${DELIVERIES_PATH}?${query.toString()}`,
      { token: this.tokens[spec.token] },
    );
    const ms = performance.now() - started;
    if (response.status !== 200) {
      throw new Error(
        `${spec.label} page ${page} answered ${response.status}: ${response.body.slice(0, 500)}`,
      );
    }
    return { body: response.body, ms };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The built service (dist/src/main.js) in its own process, on the seeded data directory. */
class ServiceProcess {
  private output = '';
  private readonly exited: Promise<void>;
  /** From spawning it to its first ready answer with every projection caught up. */
  startMs = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(dataDir: string): Promise<ServiceProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: npm run bench builds it`);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) {
      if (/^(WEBHOOK_|MONGODB_|EVENTSTORE_)/.test(name)) delete env[name];
    }
    const started = performance.now();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...env,
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        // Nothing may write while the lists are timed: no archiving (the data may have aged).
        WEBHOOK_EVENT_RETENTION_DAYS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child, port);
    child.stdout!.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
    try {
      await service.waitUntilReady();
    } catch (error) {
      await service.stop();
      throw error;
    }
    service.startMs = performance.now() - started;
    return service;
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let ended = false;
    void this.exited.then(() => (ended = true));
    while (performance.now() < deadline) {
      if (ended) throw new Error(`The service exited during start:\n${this.output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/ready`);
        const body = (await response.json()) as { projection_lags?: Record<string, number> };
        if (
          response.status === 200 &&
          Object.values(body.projection_lags ?? {}).every((lag) => lag === 0)
        ) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `The service was not ready within ${START_TIMEOUT_MS / 1000} s:\n${this.output}`,
    );
  }

  /** The most resident memory the process has had (Linux's VmHWM), or null elsewhere. */
  peakRssBytes(): number | null {
    return peakRssBytes(this.pid);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(kill);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function report(r: {
  options: Options;
  log: SyntheticLog;
  manifest: Manifest;
  dataDir: string;
  dbBytes: number;
  workspace: SyntheticWorkspace;
  service: ServiceProcess;
  peakRss: number | null;
  /** The machine's 1-minute load average before and after the queries. */
  load: number[];
  rows: Row[];
}): string {
  const { log, rows } = r;
  const c = log.counts;
  const out: string[] = [''];
  out.push(
    'GET /api/webhooks/deliveries on the built service (embedded engine): one request at a time over a keep-alive connection on 127.0.0.1',
  );
  out.push(
    `${describeCpu()}; load average ${r.load.map((l) => l.toFixed(2)).join(' before, ')} after the queries (other work on the machine shows in the tails)`,
  );
  out.push(
    `Data: ${fmt(c.deliveries)} deliveries of ${fmt(c.webhookEvents)} webhook events (${fmt(c.failed)} failed, ${fmt(c.skipped)} skipped, ${fmt(c.redeliveries)} redeliveries) ` +
      `across ${ENDPOINTS} endpoints and ${WORKSPACES} workspaces, ${log.from.slice(0, 10)} to ${log.to.slice(0, 10)}; ${fmt(c.events)} events in the log`,
  );
  out.push(
    `${fmt(r.dbBytes / 2 ** 20)} MiB in ${r.dataDir} (${filesystemOf(r.dataDir)}), seeded on ${r.manifest.generatedAt} in ${log.seconds.toFixed(0)} s`,
  );
  out.push(
    `Workspace token: the busiest workspace, ${fmt(r.workspace.deliveries)} deliveries to ${r.workspace.endpoints.length} endpoints; user token: all ${WORKSPACES} workspaces`,
  );
  out.push(
    `Service: ready in ${(r.service.startMs / 1000).toFixed(1)} s, peak RSS ${r.peakRss === null ? 'n/a' : `${fmt(r.peakRss / 2 ** 20)} MiB`}; WEBHOOK_EVENT_RETENTION_DAYS=0 (nothing written while timing)`,
  );
  out.push(
    '`first`: the first request of the row, not judged (for page 1: the first with these filters at all, before the service knows their total).',
  );
  out.push(
    `Each query: ${WARMUP_REQUESTS} requests of warm-up (at most ${WARMUP_TIME_LIMIT_MS / 1000} s), then ${r.options.requests} timed (at least ${MIN_REQUESTS}, fewer than ${r.options.requests} once a query has taken ${QUERY_TIME_LIMIT_MS / 1000} s); request start to the whole response, ms`,
  );
  out.push('');
  const header = [
    'query'.padEnd(54),
    'token'.padEnd(9),
    'page'.padStart(6),
    'limit'.padStart(5),
    'first'.padStart(7),
    'p50'.padStart(7),
    'p99'.padStart(7),
    'max'.padStart(7),
    'n'.padStart(4),
    'rows'.padStart(4),
    'total'.padStart(9),
    '',
  ].join('  ');
  out.push(header);
  out.push('-'.repeat(header.length));
  let failed = 0;
  for (const row of rows) {
    const p99 = quantile(row.latencies, 0.99);
    const pass = p99 <= TARGET_P99_MS;
    if (!pass) failed++;
    out.push(
      [
        row.label.padEnd(54),
        row.token.padEnd(9),
        fmt(row.page).padStart(6),
        String(row.limit).padStart(5),
        ms(row.firstMs).padStart(7),
        ms(quantile(row.latencies, 0.5)).padStart(7),
        ms(p99).padStart(7),
        ms(Math.max(...row.latencies)).padStart(7),
        String(row.latencies.length).padStart(4),
        String(row.rows).padStart(4),
        fmt(row.total).padStart(9),
        pass ? 'PASS' : 'FAIL',
      ].join('  '),
    );
  }
  out.push('');
  out.push(
    failed === 0
      ? `PASS: every p99 <= ${TARGET_P99_MS} ms (${rows.length} queries)`
      : `FAIL: ${failed} of ${rows.length} queries have a p99 over ${TARGET_P99_MS} ms`,
  );
  return `${out.join('\n')}\n`;
}

function ms(n: number): string {
  return n.toFixed(1);
}

const progress = progressFor('query');
