import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ATTEMPT_OBSERVER } from '../delivery/delivery.module';
import { Engine, ENGINE } from '../engine/engine';
import { EngineProbe } from './engine-probe';
import { HealthController } from './health.controller';
import { OperationsController } from './operations.controller';
import { ServiceMetrics } from './service-metrics';

/** Liveness, readiness and metrics. The metrics observe delivery attempts (ATTEMPT_OBSERVER). */
@Global()
@Module({
  controllers: [HealthController, OperationsController],
  providers: [
    {
      provide: EngineProbe,
      inject: [ENGINE, APP_CONFIG],
      useFactory: (engine: Engine, config: AppConfig) => new EngineProbe(engine, config),
    },
    {
      provide: ServiceMetrics,
      inject: [ENGINE, EngineProbe],
      useFactory: (engine: Engine, probe: EngineProbe) => new ServiceMetrics(engine.dueWork, probe),
    },
    { provide: ATTEMPT_OBSERVER, useExisting: ServiceMetrics },
  ],
  exports: [ServiceMetrics, ATTEMPT_OBSERVER],
})
export class OperationsModule {}
