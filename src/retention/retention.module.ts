import {
  BeforeApplicationShutdown,
  Inject,
  Logger,
  Module,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Engine, ENGINE } from '../engine/engine';
import { RetentionJob } from './retention.job';

const INTERVAL_NAME = 'webhook-event-retention';

/**
 * Runs the retention job on a schedule (WEBHOOK_RETENTION_CHECK_INTERVAL), and once at start;
 * not at all when WEBHOOK_EVENT_RETENTION_DAYS is 0.
 */
@Module({
  imports: [ScheduleModule.forRoot()],
  providers: [
    {
      provide: RetentionJob,
      inject: [ENGINE, APP_CONFIG],
      useFactory: (engine: Engine, config: AppConfig) =>
        config.retention.eventRetentionMs === null
          ? null
          : new RetentionJob(
              { store: engine.eventStore, checkpoints: engine.checkpoints },
              config.retention.eventRetentionMs,
            ),
    },
  ],
})
export class RetentionModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Retention');

  constructor(
    // Null when retention is off (the union type leaves Nest nothing to resolve by).
    @Inject(RetentionJob) private readonly job: RetentionJob | null,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const job = this.job;
    if (!job) return;
    // A failed run (the engine unreachable) is retried at the next interval.
    const run = () =>
      void job
        .run()
        .catch((error: unknown) => this.logger.warn(`Retention run failed: ${String(error)}`));
    this.scheduler.addInterval(
      INTERVAL_NAME,
      setInterval(run, this.config.retention.checkIntervalMs).unref(),
    );
    run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.job) return;
    // Not there when the app was built but never started (the OpenAPI generator).
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) {
      this.scheduler.deleteInterval(INTERVAL_NAME);
    }
    await this.job.current?.catch(() => undefined);
  }
}
