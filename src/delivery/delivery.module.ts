import {
  BeforeApplicationShutdown,
  Global,
  Inject,
  Module,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG, DNS_RESOLVER } from '../config/config.module';
import { Engine, ENGINE } from '../engine/engine';
import { DeliverySaga } from './delivery-saga';
import { AttemptObserver, Dispatcher } from './dispatcher';
import { HttpSender, Resolver } from './http-sender';

export const USER_AGENT = 'RapidlyWebhooks/0.1 (+https://rapidly.tech)';

/** Optional: an AttemptObserver told of every attempt the dispatcher sends (the metrics). */
export const ATTEMPT_OBSERVER = Symbol('AttemptObserver');

/**
 * The delivery engine: the saga and the dispatcher run in the service process, started once the
 * app is up and stopped before the engine closes.
 */
@Global()
@Module({
  providers: [
    {
      provide: HttpSender,
      inject: [APP_CONFIG, DNS_RESOLVER],
      useFactory: (config: AppConfig, resolve: Resolver | undefined) =>
        new HttpSender({
          timeoutMs: config.delivery.timeoutMs,
          allowPrivateNetworks: config.allowPrivateNetworks,
          userAgent: USER_AGENT,
          resolve,
        }),
    },
    {
      provide: DeliverySaga,
      inject: [ENGINE, APP_CONFIG],
      useFactory: (engine: Engine, config: AppConfig) =>
        new DeliverySaga(
          {
            store: engine.eventStore,
            projections: engine.projections,
            checkpoints: engine.checkpoints,
            endpoints: engine.endpoints,
            deliveries: engine.deliveries,
            dueWork: engine.dueWork,
          },
          config.delivery.failureThreshold,
        ),
    },
    {
      provide: Dispatcher,
      inject: [ENGINE, APP_CONFIG, HttpSender, { token: ATTEMPT_OBSERVER, optional: true }],
      useFactory: (
        engine: Engine,
        config: AppConfig,
        sender: HttpSender,
        observer: AttemptObserver | undefined,
      ) =>
        new Dispatcher(
          {
            store: engine.eventStore,
            projections: engine.projections,
            endpoints: engine.endpoints,
            deliveries: engine.deliveries,
            dueWork: engine.dueWork,
            sender,
            observer,
          },
          config.delivery,
        ),
    },
  ],
  exports: [DeliverySaga],
})
export class DeliveryModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(ENGINE) private readonly engine: Engine,
    private readonly saga: DeliverySaga,
    private readonly dispatcher: Dispatcher,
    private readonly sender: HttpSender,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Single-process embedded engine: leases held by a previous (crashed) run are void.
    await this.engine.dueWork.releaseLeases();
    await this.saga.start();
    this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.stop();
    await this.saga.stop();
    this.sender.close();
  }
}
