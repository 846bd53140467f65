/**
 * The load generator of the `delivery` bench's latency run, in its own Node process so that it
 * does not share the service's event loop (its pacing would be delayed by the service and its CPU
 * charged to it). bench/delivery.ts forks the compiled file (dist/bench/load-driver.js) and talks
 * to it over IPC:
 *
 *   child → parent  {type: 'ready', receiverUrl}      receiver listening on 127.0.0.1
 *   parent → child  {type: 'prepare', ...LoadPlan}     service up, endpoint on receiverUrl
 *   child → parent  {type: 'warmed'}                   keep-alive pool open and a warm-up run
 *                                                       published and delivered, nothing timed yet
 *   parent → child  {type: 'go'}                       parent has read its CPU counters
 *   child → parent  {type: 'results', ...}             every webhook arrived; then the child exits
 *   child → parent  {type: 'failed', message}          at any point; then the child exits with 1
 *
 * Every time is this process's own performance.now(), so publish start, 202 and receipt share one
 * clock. The child exits as soon as the IPC channel closes, so it never outlives the bench.
 *
 * Only node: modules (and bench/support, which uses nothing else) are imported here: this process
 * must not load the service.
 */
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { localRequest } from './support';

/** What the parent asks the driver to do (the `prepare` message). */
export interface LoadPlan {
  /** The service's port on 127.0.0.1. */
  port: number;
  /** A workspace token with the `webhooks:publish` scope. */
  token: string;
  eventType: string;
  /** `data` objects; event i publishes payloads[i % payloads.length]. */
  payloads: Array<Record<string, unknown>>;
  /** Events per second; event i is due at start + i * 1000 / rate ms. */
  rate: number;
  seconds: number;
  /** Seconds published at the same rate before the timed run, not reported (JIT, caches, pools). */
  warmupSeconds: number;
  /** Keep-alive connections to the service, all opened before the run. */
  sockets: number;
  /** Publish requests allowed in flight; past it the publisher falls behind its schedule. */
  maxOutstanding: number;
  /** After the last publish request was sent, how long to wait for every 202 and webhook. */
  timeoutMs: number;
}

/** Per event i (publish order), times in ms on the driver's performance.now() clock. */
export interface LoadResults {
  /** When the publish request was started. */
  started: number[];
  /** When its 202 response had fully arrived. */
  answered: number[];
  /** When its webhook (the first receipt of its webhook-id) had fully arrived at the receiver. */
  received: number[];
  /** How late each publish request started against its slot. */
  lags: number[];
  maxOutstanding: number;
  /** Receipts of a webhook-id already received. */
  duplicates: number;
  /** CPU time (user + system) of the driver process from `go` to the last receipt. */
  driverCpuMs: number;
}

export type ParentMessage = ({ type: 'prepare' } & LoadPlan) | { type: 'go' };

export type DriverMessage =
  | { type: 'ready'; receiverUrl: string }
  | { type: 'warmed' }
  | ({ type: 'results' } & LoadResults)
  | { type: 'failed'; message: string };

// ---------------------------------------------------------------------------------------------
// Receiver

/** One http server on 127.0.0.1 answering 200 once a body is in, noting each webhook-id's arrival. */
class Receiver {
  /** webhook-id → performance.now() when its body had fully arrived (first arrival only). */
  readonly arrivals = new Map<string, number>();
  duplicates = 0;
  private onArrival: (() => void) | undefined;

  private constructor(private readonly server: http.Server) {
    server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(): Promise<Receiver> {
    const server = http.createServer();
    // Longer than the sender's idle-socket timeout, so the sender always closes first.
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new Receiver(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.on('data', noop);
    req.on('end', () => {
      const at = performance.now();
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') {
        if (this.arrivals.has(id)) this.duplicates++;
        else this.arrivals.set(id, at);
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
      this.onArrival?.();
    });
  }

  /** Resolves once every id in `ids` has arrived; rejects after `timeoutMs` (`limit`: its story). */
  waitForAll(ids: readonly string[], timeoutMs: number, limit: string): Promise<void> {
    const missing = () => ids.filter((id) => !this.arrivals.has(id)).length;
    let left = missing();
    if (left === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onArrival = undefined;
        reject(
          new Error(
            `the receiver got ${ids.length - missing()} of ${ids.length} webhooks ${limit}`,
          ),
        );
      }, timeoutMs);
      this.onArrival = () => {
        // Cheap per arrival: recount only once the count could have reached zero.
        if (--left > 0) return;
        left = missing();
        if (left > 0) return;
        clearTimeout(timer);
        this.onArrival = undefined;
        resolve();
      };
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Publisher

class Publisher {
  private readonly agent: http.Agent;
  /** The request bodies, serialised once before the run. */
  private readonly bodies: Buffer[];

  constructor(private readonly plan: LoadPlan) {
    // FIFO: every pooled connection stays in use, so none idles into the server's keep-alive timeout.
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: plan.sockets,
      scheduling: 'fifo',
    });
    this.bodies = plan.payloads.map((data) =>
      Buffer.from(JSON.stringify({ type: plan.eventType, data })),
    );
  }

  /**
   * Opens every pooled connection before anything is timed: Node accepts about one new connection
   * per event-loop turn, so connecting to a loaded service mid-run would measure its accept queue.
   */
  async warm(): Promise<void> {
    const statuses = await Promise.all(
      Array.from({ length: this.plan.sockets }, () => this.request('GET', '/health')),
    );
    const bad = statuses.find((s) => s.status !== 200);
    if (bad) throw new Error(`GET /health answered ${bad.status}: ${bad.body}`);
  }

  /** Publishes event i; resolves with the 202's time and its first webhook event id. */
  async publish(i: number): Promise<{ answered: number; id: string }> {
    const response = await this.request(
      'POST',
      '/api/webhooks/events',
      this.bodies[i % this.bodies.length],
    );
    const answered = performance.now();
    if (response.status !== 202) {
      throw new Error(`publish answered ${response.status}: ${response.body}`);
    }
    const ids = (JSON.parse(response.body) as { webhook_event_ids: string[] }).webhook_event_ids;
    if (ids.length !== 1) {
      throw new Error(`a publication listed ${ids.length} webhook events, expected 1`);
    }
    return { answered, id: ids[0] };
  }

  close(): void {
    this.agent.destroy();
  }

  private request(
    method: 'GET' | 'POST',
    path: string,
    body?: Buffer,
  ): Promise<{ status: number; body: string }> {
    return localRequest(
      this.agent,
      this.plan.port,
      method,
      path,
      body && { token: this.plan.token, body },
    );
  }
}

/**
 * The open-loop schedule: event i is due at start + i * 1000 / rate ms; a 1 ms timer sends every
 * event that is due, without waiting for earlier answers (up to plan.maxOutstanding in flight).
 * Then waits for every 202 and every webhook, until plan.timeoutMs after the last publish.
 */
async function run(plan: LoadPlan, publisher: Publisher, receiver: Receiver): Promise<LoadResults> {
  const events = Math.round(plan.rate * plan.seconds);
  const interval = 1000 / plan.rate;
  const started: number[] = [];
  const answered: number[] = new Array<number>(events);
  const ids: string[] = new Array<string>(events);
  const published: Array<Promise<void>> = [];
  const lags: number[] = [];
  let outstanding = 0;
  let maxOutstanding = 0;
  let failure: unknown;
  const cpu = process.cpuUsage();
  const start = performance.now() + 5;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (started.length < events && outstanding < plan.maxOutstanding) {
        const i = started.length;
        const due = start + i * interval;
        if (due > now) break;
        lags.push(now - due);
        outstanding++;
        maxOutstanding = Math.max(maxOutstanding, outstanding);
        started.push(performance.now());
        published.push(
          publisher.publish(i).then(
            (result) => {
              outstanding--;
              answered[i] = result.answered;
              ids[i] = result.id;
            },
            (error: unknown) => {
              outstanding--;
              failure ??= error;
            },
          ),
        );
      }
      if (started.length < events && failure === undefined) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 1);
  });
  const deadline = performance.now() + plan.timeoutMs;
  const answeredAll = Promise.all(published);
  const timedOut = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), plan.timeoutMs).unref(),
  );
  if ((await Promise.race([answeredAll, timedOut])) === 'timeout') {
    throw new Error(
      `${outstanding} publish request(s) still unanswered ${plan.timeoutMs / 1000} s after the last one was sent`,
    );
  }
  if (failure !== undefined) throw failure;
  await receiver.waitForAll(
    ids,
    Math.max(0, deadline - performance.now()),
    `within ${plan.timeoutMs / 1000} s after the last publish request was sent`,
  );
  const usage = process.cpuUsage(cpu);
  return {
    started,
    answered,
    received: ids.map((id) => receiver.arrivals.get(id)!),
    lags,
    maxOutstanding,
    duplicates: receiver.duplicates,
    driverCpuMs: (usage.user + usage.system) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Process

function send(message: DriverMessage): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );
}

function nextMessage<T extends ParentMessage['type']>(
  type: T,
): Promise<Extract<ParentMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    process.once('message', (message: ParentMessage) => {
      if (message.type === type) resolve(message as Extract<ParentMessage, { type: T }>);
      else reject(new Error(`expected a '${type}' message, got '${message.type}'`));
    });
  });
}

async function main(): Promise<void> {
  const receiver = await Receiver.start();
  let publisher: Publisher | undefined;
  try {
    const prepared = nextMessage('prepare');
    await send({ type: 'ready', receiverUrl: receiver.url });
    const { type: _type, ...plan } = await prepared;
    publisher = new Publisher(plan);
    await publisher.warm();
    if (plan.warmupSeconds > 0) {
      await run({ ...plan, seconds: plan.warmupSeconds }, publisher, receiver);
    }
    const go = nextMessage('go');
    await send({ type: 'warmed' });
    await go;
    const results = await run(plan, publisher, receiver);
    await send({ type: 'results', ...results });
  } finally {
    publisher?.close();
    await receiver.close();
  }
}

function noop(): void {}

if (require.main === module) {
  if (!process.send) {
    process.stderr.write('bench/load-driver is started by the delivery bench (it needs IPC)\n');
    process.exit(2);
  }
  let finished = false;
  // The channel closed: we are done, or the bench went away (crashed, killed). Never outlive it.
  process.on('disconnect', () => process.exit(finished ? 0 : 1));
  main().then(
    () => {
      finished = true;
      process.disconnect();
    },
    async (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      await send({ type: 'failed', message }).catch(noop);
      process.exit(1);
    },
  );
}
