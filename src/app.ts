import 'reflect-metadata';
import { INestApplication, LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { Resolver } from './delivery/http-sender';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { createHttpAdapter } from './common/http-platform';
import { ApiValidationPipe } from './common/validation.pipe';
import { AppConfig, LOG_LEVELS } from './config/config';
import { Engine, openEngine } from './engine/engine';
import { buildOpenApiDocument, serveOpenApi } from './openapi/openapi';
import { JsonLogger } from './logging/json-logger';
import { logRequests } from './logging/request-log';
import { countHttpRequests } from './operations/http-metrics';
import { ServiceMetrics } from './operations/service-metrics';

export interface AppOverrides {
  /** DNS used by the delivery sender (tests map names to 127.0.0.1 and never reach the network). */
  resolver?: Resolver;
}

export interface RunningApp {
  app: INestApplication;
  engine: Engine;
}

/**
 * Builds the whole service on an engine (by default the one the configuration selects);
 * `main.ts` and the e2e tests share it.
 */
export async function createApp(
  config: AppConfig,
  given?: Engine,
  overrides: AppOverrides = {},
): Promise<RunningApp> {
  const engine = given ?? (await openEngine(config));
  const levels = LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.logLevel) + 1) as NestLogLevel[];
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, engine, overrides.resolver),
    createHttpAdapter(),
    { logger: config.logFormat === 'json' ? new JsonLogger(levels) : levels, bodyParser: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  countHttpRequests(fastify, app.get(ServiceMetrics));
  logRequests(fastify, levels.includes('log'));
  app.useGlobalPipes(new ApiValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  serveOpenApi(app, buildOpenApiDocument(app));
  engine.projections.start();
  // Read models must be current before the first request is served.
  await engine.projections.waitFor(await engine.eventStore.headPosition());
  return { app, engine };
}
