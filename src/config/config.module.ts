import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Engine, ENGINE } from '../engine/engine';
import { AppConfig } from './config';
import { Resolver } from '../delivery/http-sender';

export const APP_CONFIG = Symbol('AppConfig');
/** Optional DNS resolver for the delivery sender; undefined means the system's. */
export const DNS_RESOLVER = Symbol('DnsResolver');

/** Makes the validated configuration and the opened storage engine injectable everywhere. */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  constructor(@Inject(ENGINE) private readonly engine: Engine) {}

  /** Runs after the HTTP server has stopped, so no request is cut off mid-write. */
  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }

  static register(config: AppConfig, engine: Engine, resolver?: Resolver): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ENGINE, useValue: engine },
        { provide: DNS_RESOLVER, useValue: resolver },
      ],
      exports: [APP_CONFIG, ENGINE, DNS_RESOLVER],
    };
  }
}
