import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AttemptObserver, AttemptResult } from '../delivery/dispatcher';
import { DueWorkQueue } from '../delivery/due-work';
import { EngineProbe } from './engine-probe';
import { projectionLags } from './readiness';

/** Upper bounds of the attempt duration buckets, in seconds (sends time out at 10 s by default). */
const ATTEMPT_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const ATTEMPT_RESULTS: readonly AttemptResult[] = ['succeeded', 'failed', 'unreachable'];

/**
 * The service's Prometheus metrics, in a registry of this app instance's own (never prom-client's
 * global one: several apps may run in one process, as in the tests). Counters and the histogram
 * move as things happen; the queue depth and projection lags are read when scraped.
 */
export class ServiceMetrics implements AttemptObserver {
  readonly registry = new Registry();
  /** One child per result, bound once: counting an attempt looks nothing up by labels. */
  private readonly attempts: Record<AttemptResult, Counter.Internal>;
  private readonly attemptDuration: Histogram;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;

  constructor(dueWork: DueWorkQueue, probe: EngineProbe) {
    const registers = [this.registry];
    const attempts = new Counter({
      name: 'rapidly_delivery_attempts_total',
      help: 'Delivery attempts sent, by outcome: succeeded (2xx), failed (other status), unreachable (no response)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.attempts = {
      succeeded: attempts.labels('succeeded'),
      failed: attempts.labels('failed'),
      unreachable: attempts.labels('unreachable'),
    };
    // Every outcome is exported from the start, at 0, so rates need no absent() guard.
    for (const result of ATTEMPT_RESULTS) this.attempts[result].inc(0);
    this.attemptDuration = new Histogram({
      name: 'rapidly_delivery_attempt_duration_seconds',
      help: 'Duration of delivery attempts, DNS to response (or to the failure)',
      buckets: ATTEMPT_DURATION_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'rapidly_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
    const depth: Gauge = new Gauge({
      name: 'rapidly_due_work_depth',
      help: 'Webhook events waiting for their next delivery attempt',
      registers,
      collect: async () => depth.set(await dueWork.depth()),
    });
    const lag: Gauge<'projection'> = new Gauge({
      name: 'rapidly_projection_lag_events',
      help: 'Events of the log a projection has not applied yet',
      labelNames: ['projection'] as const,
      registers,
      collect: async () => {
        lag.reset();
        const { head, checkpoints } = await probe.ask();
        // An engine that does not answer leaves the gauge empty (GET /ready says why).
        if ('error' in head || 'error' in checkpoints) return;
        for (const [projection, events] of Object.entries(
          projectionLags(head.value, checkpoints.value),
        )) {
          lag.labels(projection).set(events);
        }
      },
    });
  }

  onAttempt(result: AttemptResult, durationMs: number): void {
    this.attempts[result].inc();
    this.attemptDuration.observe(durationMs / 1000);
  }

  /** `route` is the matched pattern (e.g. `/api/webhooks/endpoints/:id`), never the raw URL. */
  onHttpResponse(method: string, route: string, status: number): void {
    this.httpRequests.labels(method, route, String(status)).inc();
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
