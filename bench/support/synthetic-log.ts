/**
 * A synthetic event log of a service that has been delivering webhooks for a few weeks, written
 * straight into an embedded data directory through the real event store (`SqliteEventStore.append`,
 * group-committed in big batches; no HTTP), for the benchmarks that need a big log (`bench query`,
 * `bench replay`).
 *
 * Every event is what the service itself appends: they are decided by the domain's own functions
 * (endpoint and access-token `decide`, `selectTargets` and `webhookEventCreated` of a publish,
 * `decideAttempt` with `retryDelay`, `decideSkip`, `decideRedeliver`) on state folded by their own
 * `evolve`, and appended in time order with each stream's expected revision. The delivery saga's
 * effects are in it too (an endpoint whose last 10 completed events failed is disabled, and its
 * pending events are skipped), so its checkpoint is set to the head: a service opened on the
 * directory has nothing left to do. No event is left pending, so nothing is due to be sent.
 *
 * The same seed and options write the same events (ids, secrets and tokens included); only the
 * store's own `recorded_at` is the wall clock.
 */
import {
  AccessTokenEvent,
  IssueAccessToken,
  TOKEN_PREFIX,
  accessTokenStream,
  decide as decideToken,
  hashToken,
} from '../../src/auth/access-token';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from '../../src/common/webhook-event-types';
import { DEFAULT_SECRET_GRACE_PERIOD_MS } from '../../src/endpoints/endpoint-settings';
import { webhookEventCreated } from '../../src/delivery/fan-out';
import { retryDelay } from '../../src/delivery/retry-policy';
import {
  AttemptOutcome,
  WebhookEvent,
  WebhookEventEvent,
  decideAttempt,
  decideRedeliver,
  decideSkip,
  evolve as evolveWebhookEvent,
  webhookEventStream,
} from '../../src/delivery/webhook-event';
import {
  Endpoint,
  EndpointCommand,
  EndpointEvent,
  EndpointFormat,
  decide as decideEndpoint,
  endpointStream,
  evolve as evolveEndpoint,
} from '../../src/endpoints/endpoint';
import { Engine, openEmbeddedEngine } from '../../src/engine/engine';
import { ExpectedRevision, NewEvent } from '../../src/eventstore/event-store';
import {
  WebhookPublished,
  publicationStream,
  selectTargets,
} from '../../src/publishing/publication';
import { normaliseWebhookUrl } from '../../src/ssrf/webhook-url';
import { mulberry32 } from '../support';

export interface SyntheticLogOptions {
  /** Write until at least this many delivery attempts (rows of `GET /deliveries`) are in the log. */
  deliveries?: number;
  /** Write until the log holds at least this many events in all. */
  events?: number;
  /** Default 10. */
  workspaces?: number;
  /** Default 100, spread evenly over the workspaces (at least one each). */
  endpoints?: number;
  /** Default 1. */
  seed?: number;
  /** The timestamps span this many days before `end` (default 20: within the 30-day retention). */
  days?: number;
  /** Epoch ms at which the span ends; default: now. */
  end?: number;
  /**
   * Apply the projections inline as the service does (each group commit updates the read models
   * in its own transaction). Otherwise only the log is written and the read models stay empty
   * (their checkpoints at 0) until something catches up or replays.
   */
  project?: boolean;
  /** Events per group commit; default 5,000. */
  batchEvents?: number;
  /** Called about every 2 s while writing, and once at the end. */
  onProgress?: (progress: SyntheticLogProgress) => void;
}

export interface SyntheticLogCounts {
  /** Every event of the log. */
  events: number;
  /** DeliveryAttempted events: one row each in `GET /deliveries`. */
  deliveries: number;
  /** WebhookEventCreated: one row each in `GET /events`. */
  webhookEvents: number;
  publications: number;
  /** Webhook events whose retries ran out (WebhookEventFailed). */
  failed: number;
  skipped: number;
  redeliveries: number;
  endpointEvents: number;
  tokens: number;
}

export interface SyntheticLogProgress extends SyntheticLogCounts {
  /** Share of the target written, 0 to 1. */
  fraction: number;
  elapsedMs: number;
}

export interface SyntheticWorkspace {
  id: string;
  /** Endpoints created in it (deleted ones included), with the delivery attempts made to each. */
  endpoints: Array<{ id: string; deliveries: number }>;
  /** Delivery attempts to its endpoints. */
  deliveries: number;
  /** A workspace token with `webhooks:read`. */
  readToken: string;
}

export interface SyntheticLog {
  counts: SyntheticLogCounts;
  /** Position of the last event written. */
  head: number;
  /** Earliest and latest timestamp in the data (ISO 8601). */
  from: string;
  to: string;
  workspaces: SyntheticWorkspace[];
  /** A user token with `webhooks:read` on every workspace. */
  userReadToken: string;
  seconds: number;
}

/** Changes whenever the same options would write a different log (for caches of it). */
export const SYNTHETIC_LOG_VERSION = 2;

/** The delivery saga's checkpoint (src/delivery/delivery-saga.ts). */
const SAGA_CHECKPOINT = 'delivery_saga';
/**
 * The retry schedule of the data: `WEBHOOK_RETRY_SCHEDULE=5s,5m`, so a retry budget is at most
 * 3 attempts and an event that keeps failing ends WebhookEventFailed within minutes.
 */
const RETRY_SCHEDULE_MS = [5_000, 5 * 60_000];
/** WEBHOOK_FAILURE_THRESHOLD's default: the saga disables an endpoint after that many failed events. */
const FAILURE_THRESHOLD = 10;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PROGRESS_INTERVAL_MS = 2_000;

/** How often each type is published, relative to the others. */
const TYPE_WEIGHTS: Record<WebhookEventType, number> = {
  'customer.created': 12,
  'customer.updated': 16,
  'customer.deleted': 2,
  'customer.state_changed': 8,
  'share.created': 10,
  'share.updated': 6,
  'workspace.updated': 1,
  'file_sharing_session.created': 16,
  'file_sharing_session.download_completed': 14,
  'file_sharing_session.expired': 6,
  'file_sharing_session.payment_received': 9,
};

const FIRST_NAMES = 'Ada Grace Alan Edsger Barbara Linus Margaret Ken Hedy Radia'.split(' ');
const LAST_NAMES = 'Lovelace Hopper Turing Dijkstra Liskov Ritchie Lamarr Knuth Perlman'.split(' ');
const COMPANIES = 'acme globex initech umbrella hooli stark wayne tyrell wonka vandelay'.split(' ');
const FILE_NAMES = [
  ...'contract.pdf invoice-2291.pdf photos.zip report.xlsx video.mp4 dataset.csv'.split(' '),
  ...['Q3 board pack.pptx', 'design – final.fig', '季度报告.xlsx'],
];
const COUNTRIES = 'DE FR US GB JP BR IN ES NL SE'.split(' ');
const SUCCESS_BODIES = ['', 'ok', '{"ok":true}', '{"received":true}', 'Accepted'];
const ERROR_BODIES: Record<number, string> = {
  400: '{"error":"bad_request","message":"missing field data.customer"}',
  401: '{"error":"invalid signature"}',
  403: '<html><body><h1>403 Forbidden</h1></body></html>',
  404: 'Not Found',
  422: '{"detail":"unprocessable event"}',
  429: '{"error":"rate limited, retry later"}',
  500: 'Internal Server Error',
  502: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
  503: '{"error":"service unavailable"}',
  504: '<html><body><h1>504 Gateway Time-out</h1></body></html>',
};

/** Relative weights: of the answers to an attempt, of endpoints' formats and failure rates. */
const SUCCESS_CODES: Record<string, number> = { 200: 85, 202: 6, 204: 6, 201: 3 };
const SERVER_ERRORS: Record<string, number> = { 500: 3, 502: 4, 503: 2, 504: 1 };
const CLIENT_ERRORS: Record<string, number> = { 400: 3, 401: 2, 403: 1, 404: 3, 422: 1, 429: 2 };
const FAILURES = { '5xx': 50, '4xx': 20, timeout: 20, refused: 6, dns: 4 };
const FORMATS: Record<EndpointFormat, number> = { raw: 8, discord: 1, slack: 1 };
/** Most receivers rarely fail; a few fail often. */
const FAILURE_RATES = { '0.01': 5, '0.04': 3, '0.15': 1.5, '0.4': 0.5 };

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

type Random = () => number;

/** UUIDv7 (the service's id layout) for a given time, its random bits from `random`. */
function uuidv7At(ms: number, random: Random): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Math.floor(ms), 0, 6);
  for (let i = 6; i < 16; i += 2) bytes.writeUInt16BE(Math.floor(random() * 0x10000), i);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function randomBytes(count: number, random: Random): Buffer {
  const bytes = Buffer.alloc(count);
  for (let i = 0; i < count; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

const iso = (ms: number) => new Date(Math.floor(ms)).toISOString();

function pick<T>(values: readonly T[], random: Random): T {
  return values[Math.floor(random() * values.length)];
}

/** One of the keys of `weights`, each as likely as its weight. */
function weightedKey<K extends string>(weights: Record<K, number>, random: Random): K {
  return weighted(Object.entries(weights) as Array<[K, number]>, random);
}

function weighted<T>(entries: ReadonlyArray<readonly [T, number]>, random: Random): T {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [value, w] of entries) {
    r -= w;
    if (r < 0) return value;
  }
  return entries[entries.length - 1][0];
}

/** Log-normal around `median` (spread: the sigma of its logarithm). */
function logNormal(median: number, spread: number, random: Random): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return median * Math.exp(spread * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

/** A min-heap of actions by time (then insertion order), for the time-ordered simulation. */
class Agenda {
  private readonly heap: Action[] = [];
  private seq = 0;
  /** Scheduled attempts (each will write at least one DeliveryAttempted unless cancelled). */
  attempts = 0;

  get size(): number {
    return this.heap.length;
  }

  peekTime(): number {
    return this.heap.length > 0 ? this.heap[0].at : Infinity;
  }

  push(action: ActionSpec & { at: number }): Action {
    const entry: Action = { ...action, seq: this.seq++, cancelled: false };
    if (entry.kind === 'attempt') this.attempts++;
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
    return entry;
  }

  cancel(action: Action): void {
    if (action.cancelled) return;
    action.cancelled = true;
    if (action.kind === 'attempt') this.attempts--;
  }

  pop(): Action | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l], heap[m])) m = l;
        if (r < heap.length && before(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    if (top.kind === 'attempt' && !top.cancelled) this.attempts--;
    return top;
  }
}

function before(a: Action, b: Action): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

type ActionSpec =
  | { kind: 'attempt'; event: SimEvent }
  | { kind: 'redeliver'; event: SimEvent }
  | { kind: 'endpoint'; endpoint: SimEndpoint; change: EndpointChange }
  | { kind: 'recover'; endpoint: SimEndpoint; since: number };

type Action = ActionSpec & { at: number; seq: number; cancelled: boolean };

type EndpointChange =
  | { type: 'create' }
  | { type: 'update-events' }
  | { type: 'update-url' }
  | { type: 'rotate-secret' }
  | { type: 'disable' }
  | { type: 'enable'; recoverSince: number }
  | { type: 'delete' };

interface SimEndpoint {
  id: string;
  workspace: SimWorkspace;
  state: Endpoint | null;
  revision: number;
  /** Chance that an attempt fails, outside bad windows. */
  failRate: number;
  /** [from, to): the receiver is down (almost every attempt fails). */
  badWindows: Array<[number, number]>;
  consecutiveFailures: number;
  /** Events with an attempt scheduled (skipped if the endpoint is disabled or deleted). */
  pending: Set<SimEvent>;
  /** Events whose retries ran out and that were not redelivered since: what a recover takes. */
  failed: SimEvent[];
  deliveries: number;
}

interface SimWorkspace {
  id: string;
  weight: number;
  endpoints: SimEndpoint[];
  readToken: string;
}

interface SimEvent {
  id: string;
  state: WebhookEvent;
  revision: number;
  endpoint: SimEndpoint;
  /** Attempts made in the current retry budget. */
  attemptsMade: number;
  next: Action | undefined;
  failedAt: number | null;
}

/**
 * Writes the log into `dataDir` (which must hold no events yet). Needs `deliveries` or `events`:
 * it stops once the log holds at least that many (by less than one publication more).
 */
export async function writeSyntheticLog(
  dataDir: string,
  options: SyntheticLogOptions,
): Promise<SyntheticLog> {
  if (options.deliveries === undefined && options.events === undefined) {
    throw new Error('writeSyntheticLog needs a target: deliveries or events');
  }
  const engine = openEmbeddedEngine(dataDir);
  try {
    if ((await engine.eventStore.headPosition()) !== 0) {
      throw new Error(`${dataDir} already holds events: the synthetic log needs an empty one`);
    }
    if (options.project) engine.projections.start();
    const generator = new Generator(engine, options);
    const log = await generator.run();
    await engine.checkpoints.save(SAGA_CHECKPOINT, log.head);
    if (options.project) await engine.projections.waitFor(log.head);
    return log;
  } finally {
    await engine.close();
  }
}

class Generator {
  private readonly random: Random;
  private readonly agenda = new Agenda();
  private readonly writer: BatchWriter;
  private readonly workspaces: SimWorkspace[] = [];
  private readonly endpoints: SimEndpoint[] = [];
  private readonly counts: SyntheticLogCounts = {
    events: 0,
    deliveries: 0,
    webhookEvents: 0,
    publications: 0,
    failed: 0,
    skipped: 0,
    redeliveries: 0,
    endpointEvents: 0,
    tokens: 0,
  };
  private readonly start: number;
  private readonly end: number;
  /** Cumulative share of the publications by hour of the span: busier by day than by night. */
  private readonly hourly: number[];
  private readonly target: { metric: 'deliveries' | 'events'; value: number };
  private readonly typeWeights = Object.entries(TYPE_WEIGHTS) as Array<[WebhookEventType, number]>;
  private clock: number;
  private userReadToken = '';
  private readonly started = Date.now();
  private lastProgress = Date.now();

  constructor(
    engine: Engine,
    private readonly options: SyntheticLogOptions,
  ) {
    this.random = mulberry32(options.seed ?? 1);
    this.end = Math.floor(options.end ?? Date.now());
    this.start = this.end - (options.days ?? 20) * DAY_MS;
    this.clock = this.start;
    this.target =
      options.deliveries !== undefined
        ? { metric: 'deliveries', value: options.deliveries }
        : { metric: 'events', value: options.events! };
    this.writer = new BatchWriter(engine, options.batchEvents ?? 5_000, this.counts);
    this.hourly = this.publicationHours();
  }

  async run(): Promise<SyntheticLog> {
    this.setUp();
    // Publications until the target is reached, each at the time its share of the target says;
    // then whatever is still scheduled (retries, redeliveries). Disabling an endpoint cancels
    // attempts that were counted on, so the target is checked again after the drain.
    while (this.estimate() < this.target.value) {
      while (this.estimate() < this.target.value) {
        const at = Math.max(this.clock, this.publicationTime(this.estimate() / this.target.value));
        await this.runUntil(at);
        this.publish(at);
        await this.writer.flushIfFull(() => this.progress());
      }
      await this.runUntil(Infinity);
    }
    await this.writer.flush();
    this.progress(true);
    return {
      counts: { ...this.counts },
      head: this.writer.head,
      from: iso(this.start),
      to: iso(this.clock),
      workspaces: this.workspaces.map((w) => ({
        id: w.id,
        endpoints: w.endpoints.map((e) => ({ id: e.id, deliveries: e.deliveries })),
        deliveries: w.endpoints.reduce((sum, e) => sum + e.deliveries, 0),
        readToken: w.readToken,
      })),
      userReadToken: this.userReadToken,
      seconds: (Date.now() - this.started) / 1000,
    };
  }

  /** What the target counts, written or sure to be (every scheduled attempt writes one at least). */
  private estimate(): number {
    return this.counts[this.target.metric] + this.agenda.attempts;
  }

  // -------------------------------------------------------------------------------------------
  // Set-up: workspaces, tokens, endpoints and the changes planned for them

  private setUp(): void {
    const random = this.random;
    const workspaceCount = this.options.workspaces ?? 10;
    const endpointCount = Math.max(this.options.endpoints ?? 100, workspaceCount);
    let at = this.start;
    for (let w = 0; w < workspaceCount; w++) {
      // Some workspaces publish about twice as much as others.
      const weight = 1.3 - (0.6 * w) / Math.max(workspaceCount - 1, 1);
      const workspace: SimWorkspace = {
        id: uuidv7At(this.start - 90 * DAY_MS + w * DAY_MS, random),
        weight,
        endpoints: [],
        readToken: '',
      };
      this.workspaces.push(workspace);
      const workspaceIds = [workspace.id];
      workspace.readToken = this.issueToken((at += 1000), {
        kind: 'workspace',
        workspaceIds,
        scopes: ['webhooks:read'],
      });
      this.issueToken((at += 1000), {
        kind: 'workspace',
        workspaceIds,
        scopes: ['webhooks:read', 'webhooks:write'],
      });
      this.issueToken((at += 1000), {
        kind: 'workspace',
        workspaceIds,
        scopes: ['webhooks:publish'],
      });
    }
    this.userReadToken = this.issueToken((at += 1000), {
      kind: 'user',
      userName: 'ops',
      workspaceIds: this.workspaces.map((w) => w.id),
      scopes: ['webhooks:read'],
    });

    const span = this.end - this.start;
    for (let i = 0; i < endpointCount; i++) {
      const workspace = this.workspaces[i % workspaceCount];
      const endpoint: SimEndpoint = {
        id: '',
        workspace,
        state: null,
        revision: -1,
        failRate: Number(weightedKey(FAILURE_RATES, random)),
        badWindows: [],
        consecutiveFailures: 0,
        pending: new Set(),
        failed: [],
        deliveries: 0,
      };
      workspace.endpoints.push(endpoint);
      this.endpoints.push(endpoint);
      // Most exist before the span starts; some are added during its first half.
      const createdAt =
        random() < 0.9 ? (at += 1000 + random() * 60_000) : this.start + random() * span * 0.5;
      endpoint.id = uuidv7At(createdAt, random);
      this.schedule(createdAt, endpoint, { type: 'create' });
      // Changes over the span, before its last 10% (so that all their effects settle).
      const during = () => createdAt + HOUR_MS + random() * (this.start + span * 0.9 - createdAt);
      if (random() < 0.15) this.schedule(during(), endpoint, { type: 'update-events' });
      if (random() < 0.08) this.schedule(during(), endpoint, { type: 'update-url' });
      if (random() < 0.1) this.schedule(during(), endpoint, { type: 'rotate-secret' });
      if (random() < 0.05) {
        // The receiver is down for a few hours: the endpoint gets disabled as failing, and its
        // owner enables it again later and recovers what failed.
        const from = this.start + span * (0.1 + 0.7 * random());
        endpoint.badWindows.push([from, from + HOUR_MS * (2 + 6 * random())]);
      }
    }
    // A couple disabled by their owner for good, one deleted.
    const late = () => this.start + span * (0.3 + 0.6 * random());
    for (const endpoint of [this.endpoints[endpointCount - 2], this.endpoints[endpointCount - 5]]) {
      if (endpoint) this.schedule(late(), endpoint, { type: 'disable' });
    }
    const deleted = this.endpoints[endpointCount - 8];
    if (deleted) this.schedule(late(), deleted, { type: 'delete' });
  }

  private issueToken(
    at: number,
    grant: Pick<IssueAccessToken, 'kind' | 'workspaceIds' | 'scopes'> & { userName?: string },
  ): string {
    const token = TOKEN_PREFIX + randomBytes(32, this.random).toString('base64url');
    const tokenId = uuidv7At(at, this.random);
    const events = decideToken(null, {
      type: 'IssueAccessToken',
      tokenId,
      userName: null,
      ...grant,
      tokenHash: hashToken(token),
      now: iso(at),
    });
    this.write(accessTokenStream(tokenId), events as AccessTokenEvent[], 'no_stream');
    this.counts.tokens += 1;
    return token;
  }

  private schedule(at: number, endpoint: SimEndpoint, change: EndpointChange): void {
    this.agenda.push({ at, kind: 'endpoint', endpoint, change });
  }

  // -------------------------------------------------------------------------------------------
  // The simulation

  /** Handles every scheduled action due up to `until`, in time order. */
  private async runUntil(until: number): Promise<void> {
    while (this.agenda.size > 0 && this.agenda.peekTime() <= until) {
      const action = this.agenda.pop()!;
      if (action.cancelled) continue;
      this.clock = Math.max(this.clock, action.at);
      switch (action.kind) {
        case 'attempt':
          this.attempt(action.event, action.at);
          break;
        case 'redeliver':
          this.redeliver(action.event, action.at);
          break;
        case 'endpoint':
          this.changeEndpoint(action.endpoint, action.change, action.at);
          break;
        case 'recover':
          this.recover(action.endpoint, action.since, action.at);
          break;
      }
      await this.writer.flushIfFull(() => this.progress());
    }
  }

  /** A platform publishes one event: the publication and one WebhookEvent per target. */
  private publish(at: number): void {
    const random = this.random;
    const workspace = weighted(
      this.workspaces.map((w) => [w, w.weight] as const),
      random,
    );
    const eventType = weighted(this.typeWeights, random);
    const live = workspace.endpoints.flatMap((e) => (e.state ? [e.state] : []));
    const targets = selectTargets(live, workspace.id, eventType);
    const publication: WebhookPublished = {
      type: 'WebhookPublished',
      data: {
        publicationId: uuidv7At(at, random),
        workspaceId: workspace.id,
        eventType,
        payloadData: payloadData(eventType, at, random),
        timestamp: iso(at),
        targets: targets.map((e) => ({ endpointId: e.id, webhookEventId: uuidv7At(at, random) })),
      },
    };
    this.write(publicationStream(publication.data.publicationId), [publication], 'no_stream');
    this.counts.publications += 1;
    publication.data.targets.forEach((target, i) => {
      const created = webhookEventCreated(publication.data, target, targets[i].format);
      const endpoint = workspace.endpoints.find((e) => e.id === target.endpointId)!;
      const event: SimEvent = {
        id: target.webhookEventId,
        state: evolveWebhookEvent(null, created)!,
        revision: 0,
        endpoint,
        attemptsMade: 0,
        next: undefined,
        failedAt: null,
      };
      this.write(webhookEventStream(event.id), [created], 'no_stream');
      this.counts.webhookEvents += 1;
      // The dispatcher picks it up within a moment; first attempts to an endpoint keep their order.
      this.scheduleAttempt(event, at + 20 + i * 5 + logNormal(60, 0.8, random));
    });
  }

  /**
   * Schedules what a user does later (a redelivery, enabling an endpoint again, a recover), unless
   * that would be past the span's last 30 minutes: the data ends settled, nothing left pending.
   */
  private later(at: number, action: ActionSpec): void {
    if (at < this.end - 30 * 60_000) this.agenda.push({ ...action, at });
  }

  private scheduleAttempt(event: SimEvent, at: number): void {
    event.next = this.agenda.push({ at, kind: 'attempt', event });
    event.endpoint.pending.add(event);
  }

  private attempt(event: SimEvent, at: number): void {
    const { endpoint } = event;
    endpoint.pending.delete(event);
    event.next = undefined;
    const outcome = this.outcome(endpoint, at);
    event.attemptsMade += 1;
    const retryAfterMs = outcome.httpCode === 429 || outcome.httpCode === 503 ? 30_000 : null;
    const delay = outcome.permanent
      ? null
      : retryDelay({
          attemptsMade: event.attemptsMade,
          schedule: RETRY_SCHEDULE_MS,
          random: this.random,
          retryAfterMs,
        });
    const attemptedAt = at + outcome.durationMs;
    const events = decideAttempt(event.state, {
      type: 'RecordAttempt',
      deliveryId: uuidv7At(attemptedAt, this.random),
      outcome,
      retryDelayMs: delay,
      now: iso(attemptedAt),
    });
    this.writeToEvent(event, events);
    this.counts.deliveries += 1;
    endpoint.deliveries += 1;
    const [attempted] = events;
    if (attempted.type !== 'DeliveryAttempted') throw new Error('decideAttempt: no attempt');
    if (attempted.data.succeeded) {
      endpoint.consecutiveFailures = 0;
      // Now and then someone sends a delivered event again (testing their receiver).
      if (this.random() < 0.0005) {
        this.later(attemptedAt + HOUR_MS * this.random() * 6, { kind: 'redeliver', event });
      }
    } else if (attempted.data.retryAt !== null) {
      this.scheduleAttempt(event, Date.parse(attempted.data.retryAt));
    } else {
      this.counts.failed += 1;
      event.failedAt = attemptedAt;
      endpoint.failed.push(event);
      endpoint.consecutiveFailures += 1;
      if (endpoint.consecutiveFailures >= FAILURE_THRESHOLD && endpoint.state?.enabled) {
        // The saga disables it, and its owner enables it again once the receiver is back.
        const disabledAt = attemptedAt + 30 + this.random() * 200;
        this.changeEndpoint(endpoint, { type: 'disable' }, disabledAt, 'failing');
        const window = endpoint.badWindows.find(
          ([from, to]) => attemptedAt >= from && attemptedAt < to,
        );
        const back = (window ? window[1] : disabledAt) + HOUR_MS * (0.5 + 4 * this.random());
        this.later(back, {
          kind: 'endpoint',
          endpoint,
          change: { type: 'enable', recoverSince: disabledAt - 6 * HOUR_MS },
        });
      } else if (this.random() < 0.03) {
        // Someone redelivers it by hand after looking into it.
        this.later(attemptedAt + HOUR_MS * (0.2 + 8 * this.random()), { kind: 'redeliver', event });
      }
    }
  }

  /** What the receiver did with one attempt at `at`. */
  private outcome(endpoint: SimEndpoint, at: number): AttemptOutcome {
    const random = this.random;
    const down = endpoint.badWindows.some(([from, to]) => at >= from && at < to);
    if (random() >= (down ? 0.97 : endpoint.failRate)) {
      return {
        httpCode: Number(weightedKey(SUCCESS_CODES, random)),
        response: pick(SUCCESS_BODIES, random),
        durationMs: Math.min(Math.round(logNormal(120, 0.7, random)), 9_000),
        permanent: false,
      };
    }
    const kind = weightedKey(FAILURES, random);
    switch (kind) {
      case '5xx':
      case '4xx': {
        const httpCode = Number(
          weightedKey(kind === '5xx' ? SERVER_ERRORS : CLIENT_ERRORS, random),
        );
        return {
          httpCode,
          response: ERROR_BODIES[httpCode],
          durationMs: Math.round(logNormal(kind === '5xx' ? 300 : 60, 0.8, random)),
          permanent: false,
        };
      }
      case 'timeout':
        return {
          httpCode: null,
          response: 'Timed out after 10000 ms',
          durationMs: 10_000 + Math.floor(random() * 5),
          permanent: false,
        };
      case 'refused':
        return {
          httpCode: null,
          response: `connect ECONNREFUSED 203.0.113.${1 + Math.floor(random() * 250)}:443`,
          durationMs: 1 + Math.floor(random() * 4),
          permanent: false,
        };
      case 'dns':
        return {
          httpCode: null,
          response: `getaddrinfo ENOTFOUND ${new URL(endpoint.state!.url).hostname}`,
          durationMs: 5 + Math.floor(random() * 40),
          permanent: false,
        };
    }
  }

  /** A new attempt of the same event, with a fresh retry budget (one user's or a recover's). */
  private redeliver(event: SimEvent, at: number): void {
    if (event.next) return; // already scheduled again
    const enabled = event.endpoint.state?.enabled === true;
    const events = decideRedeliver(event.state, {
      type: 'RedeliverWebhookEvent',
      endpointEnabled: enabled,
      now: iso(at),
    });
    this.writeToEvent(event, events);
    if (events[0].type === 'WebhookEventSkipped') {
      this.counts.skipped += 1;
      return;
    }
    this.counts.redeliveries += 1;
    event.attemptsMade = 0;
    if (event.failedAt !== null) {
      const failed = event.endpoint.failed;
      failed.splice(failed.indexOf(event), 1);
      event.failedAt = null;
    }
    this.scheduleAttempt(event, at + 40 + logNormal(80, 0.8, this.random));
  }

  /** POST /endpoints/{id}/recover: every event that failed since `since`, not redelivered since. */
  private recover(endpoint: SimEndpoint, since: number, at: number): void {
    const due = endpoint.failed.filter((e) => e.failedAt! >= since).slice(0, 1000);
    due.forEach((event, i) => this.redeliver(event, at + i));
  }

  private changeEndpoint(
    endpoint: SimEndpoint,
    change: EndpointChange,
    at: number,
    reason: 'failing' | 'requested' = 'requested',
  ): void {
    const random = this.random;
    const state = endpoint.state;
    if (change.type !== 'create' && (!state || state.deletedAt)) return;
    const now = iso(at);
    const grace = DEFAULT_SECRET_GRACE_PERIOD_MS;
    const secret = () => `whsec_${randomBytes(32, random).toString('base64')}`;
    let command: EndpointCommand;
    switch (change.type) {
      case 'create': {
        const company = pick(COMPANIES, random);
        const format = weightedKey(FORMATS, random);
        command = {
          type: 'CreateEndpoint',
          endpointId: endpoint.id,
          workspaceId: endpoint.workspace.id,
          url: webhookUrl(`https://hooks.${company}.example/rapidly/${endpoint.id.slice(-6)}`),
          format,
          events: subscription(this.typeWeights, random),
          secret: secret(),
          now,
        };
        break;
      }
      case 'update-events':
        command = {
          type: 'UpdateEndpoint',
          events: subscription(this.typeWeights, random),
          secretGracePeriodMs: grace,
          now,
        };
        break;
      case 'update-url':
        command = {
          type: 'UpdateEndpoint',
          url: webhookUrl(`${state!.url.replace(/\/v\d+$/, '')}/v${2 + Math.floor(random() * 3)}`),
          secretGracePeriodMs: grace,
          now,
        };
        break;
      case 'rotate-secret':
        command = {
          type: 'RotateEndpointSecret',
          secret: secret(),
          secretGracePeriodMs: grace,
          now,
        };
        break;
      case 'disable':
        command =
          reason === 'failing'
            ? { type: 'DisableEndpoint', reason, now }
            : { type: 'UpdateEndpoint', enabled: false, secretGracePeriodMs: grace, now };
        break;
      case 'enable':
        command = { type: 'UpdateEndpoint', enabled: true, secretGracePeriodMs: grace, now };
        break;
      case 'delete':
        command = { type: 'DeleteEndpoint', now };
        break;
    }
    const events = decideEndpoint(state, command);
    if (events.length === 0) return;
    this.write(
      endpointStream(endpoint.id),
      events,
      endpoint.revision < 0 ? 'no_stream' : endpoint.revision,
    );
    endpoint.revision += events.length;
    endpoint.state = events.reduce<Endpoint | null>(evolveEndpoint, state);
    this.counts.endpointEvents += events.length;
    if (change.type === 'enable') {
      endpoint.consecutiveFailures = 0;
      this.later(at + 60_000 + random() * 30 * 60_000, {
        kind: 'recover',
        endpoint,
        since: change.recoverSince,
      });
    }
    if (change.type === 'disable' || change.type === 'delete') {
      // The saga skips what was pending for it.
      const why = change.type === 'delete' ? 'endpoint_deleted' : 'endpoint_disabled';
      let skippedAt = at + 20;
      for (const event of endpoint.pending) {
        if (event.next) this.agenda.cancel(event.next);
        event.next = undefined;
        const skipped = decideSkip(event.state, why, iso((skippedAt += 1)));
        this.writeToEvent(event, skipped);
        this.counts.skipped += skipped.length;
      }
      endpoint.pending.clear();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  private writeToEvent(event: SimEvent, events: WebhookEventEvent[]): void {
    if (events.length === 0) return;
    this.write(webhookEventStream(event.id), events, event.revision);
    event.revision += events.length;
    event.state = events.reduce<WebhookEvent | null>(evolveWebhookEvent, event.state)!;
  }

  private write(
    streamId: string,
    events: ReadonlyArray<WebhookEventEvent | EndpointEvent | AccessTokenEvent | WebhookPublished>,
    expected: ExpectedRevision,
  ): void {
    this.writer.add(streamId, events as unknown as NewEvent[], expected);
  }

  private progress(final = false): void {
    const now = Date.now();
    if (!final && now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    this.options.onProgress?.({
      ...this.counts,
      fraction: Math.min(this.counts[this.target.metric] / this.target.value, 1),
      elapsedMs: now - this.started,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Time

  /**
   * Publications run from 1 h after the span's start to 1 h before its end, busier by day than
   * by night (UTC); the cumulative share of each hour, for publicationTime.
   */
  private publicationHours(): number[] {
    const hours = Math.max(1, Math.floor((this.end - this.start - 2 * HOUR_MS) / HOUR_MS));
    const cumulative = [0];
    for (let h = 0; h < hours; h++) {
      const hourOfDay = new Date(this.start + HOUR_MS + h * HOUR_MS).getUTCHours();
      const rate = 1 + 0.6 * Math.sin((2 * Math.PI * (hourOfDay - 8)) / 24);
      cumulative.push(cumulative[h] + rate);
    }
    const total = cumulative[hours];
    return cumulative.map((c) => c / total);
  }

  /** When the publication at `fraction` (0 to 1) of the target is made. */
  private publicationTime(fraction: number): number {
    const cumulative = this.hourly;
    const f = Math.min(Math.max(fraction, 0), 1);
    let lo = 0;
    let hi = cumulative.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] <= f) lo = mid;
      else hi = mid;
    }
    const within = (f - cumulative[lo]) / (cumulative[hi] - cumulative[lo] || 1);
    return this.start + HOUR_MS + (lo + Math.min(within, 1)) * HOUR_MS;
  }
}

/**
 * Appends in big group commits: every append added is issued in the same tick when the batch is
 * full, so the store writes them in one transaction; the next batch is built while that one
 * syncs.
 */
class BatchWriter {
  private batch: Array<{ streamId: string; events: NewEvent[]; expected: ExpectedRevision }> = [];
  private batchEvents = 0;
  private inFlight: Promise<void> = Promise.resolve();
  head = 0;

  constructor(
    private readonly engine: Engine,
    private readonly batchSize: number,
    private readonly counts: SyntheticLogCounts,
  ) {}

  add(streamId: string, events: NewEvent[], expected: ExpectedRevision): void {
    this.batch.push({ streamId, events, expected });
    this.batchEvents += events.length;
    this.counts.events += events.length;
  }

  async flushIfFull(progress: () => void): Promise<void> {
    if (this.batchEvents < this.batchSize) return;
    await this.issue();
    progress();
  }

  async flush(): Promise<void> {
    await this.issue();
    await this.inFlight;
  }

  /** Issues the batch once the previous one is committed and synced. */
  private async issue(): Promise<void> {
    await this.inFlight;
    const batch = this.batch;
    this.batch = [];
    this.batchEvents = 0;
    if (batch.length === 0) return;
    const { eventStore } = this.engine;
    this.inFlight = Promise.all(
      batch.map((a) => eventStore.append(a.streamId, a.events, a.expected)),
    ).then((results) => {
      for (const r of results) this.head = Math.max(this.head, r.position);
    });
  }
}

function webhookUrl(url: string): string {
  const check = normaliseWebhookUrl(url, { allowPrivateNetworks: false });
  if (!check.ok) throw new Error(`synthetic endpoint URL ${url}: ${check.reason}`);
  return check.url;
}

/** The types an endpoint subscribes to: a few, sometimes all of them. */
function subscription(
  typeWeights: ReadonlyArray<[WebhookEventType, number]>,
  random: Random,
): WebhookEventType[] {
  if (random() < 0.2) return [...WEBHOOK_EVENT_TYPES];
  const count = 1 + Math.floor(random() * 5);
  const types = new Set<WebhookEventType>();
  while (types.size < count) types.add(weighted(typeWeights, random));
  return [...types];
}

/** `data` of a published event of `type`, as platforms send them (about 150–500 bytes). */
function payloadData(type: WebhookEventType, at: number, random: Random): Record<string, unknown> {
  const id = (prefix: string) =>
    `${prefix}_${Array.from({ length: 14 }, () => ALPHANUMERIC[Math.floor(random() * 62)]).join('')}`;
  const first = pick(FIRST_NAMES, random);
  const last = pick(LAST_NAMES, random);
  const email =
    `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') +
    `@${pick(COMPANIES, random)}.example`;
  const customer = { id: id('cus'), email };
  const file = pick(FILE_NAMES, random);
  const when = iso(at);
  switch (type) {
    case 'customer.created':
      return {
        ...customer,
        name: `${first} ${last}`,
        created_at: when,
        metadata: {
          plan: pick(['free', 'pro', 'team'], random),
          source: pick(['signup_form', 'api', 'import'], random),
        },
        tags: random() < 0.3 ? ['vip'] : [],
      };
    case 'customer.updated':
      return {
        ...customer,
        name: `${first} ${last}`,
        changed_fields: ['name'],
        previous: { name: first },
      };
    case 'customer.deleted':
      return { ...customer, deleted_at: when };
    case 'customer.state_changed':
      return {
        ...customer,
        state: pick(['active', 'past_due', 'canceled'], random),
        previous_state: 'trialing',
        reason: null,
      };
    case 'share.created':
      return {
        id: id('shr'),
        title: file,
        url: `https://rapidly.example/s/${id('s')}`,
        file_count: 1 + Math.floor(random() * 8),
        password_protected: random() < 0.4,
        customer,
      };
    case 'share.updated':
      return {
        id: id('shr'),
        title: `${file} (final)`,
        changes: { title: { from: file, to: `${file} (final)` } },
      };
    case 'workspace.updated':
      return {
        id: id('ws'),
        name: `${pick(COMPANIES, random)} workspace`,
        settings: { timezone: 'Europe/Paris', locale: 'fr-FR' },
      };
    case 'file_sharing_session.created':
      return {
        id: id('fss'),
        file_name: file,
        file_size: Math.floor(logNormal(2_000_000, 1.5, random)),
        status: 'pending',
        expires_at: iso(at + 7 * DAY_MS),
        customer,
      };
    case 'file_sharing_session.download_completed':
      return {
        id: id('fss'),
        file_name: file,
        file_size: Math.floor(logNormal(2_000_000, 1.5, random)),
        downloaded_at: when,
        downloader: { email, country: pick(COUNTRIES, random) },
      };
    case 'file_sharing_session.expired':
      return {
        id: id('fss'),
        file_name: file,
        status: 'expired',
        expired_at: when,
        downloads: Math.floor(random() * 5),
      };
    case 'file_sharing_session.payment_received':
      return {
        id: id('pay'),
        amount: 100 * (1 + Math.floor(random() * 200)),
        currency: pick(['EUR', 'USD', 'GBP'], random),
        session: { id: id('fss'), file_name: file },
        customer,
        paid_at: when,
      };
  }
}
