import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Engine, ENGINE } from '../engine/engine';
import { AppConfig } from './config';

export const APP_CONFIG = Symbol('AppConfig');

/** Makes the validated configuration and the opened storage engine injectable everywhere. */
@Global()
@Module({})
export class CoreModule implements OnApplicationShutdown {
  constructor(@Inject(ENGINE) private readonly engine: Engine) {}

  /** Runs after the HTTP server has stopped, so no request is cut off mid-write. */
  async onApplicationShutdown(): Promise<void> {
    await this.engine.close();
  }

  static register(config: AppConfig, engine: Engine): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ENGINE, useValue: engine },
      ],
      exports: [APP_CONFIG, ENGINE],
    };
  }
}
