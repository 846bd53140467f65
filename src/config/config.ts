import { resolve } from 'node:path';
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  parseDuration,
  parseDurationList,
} from '../delivery/retry-policy';

/** Typed, validated runtime configuration. Every value comes from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Development only: allow private/loopback targets and plain http endpoint URLs. */
  allowPrivateNetworks: boolean;
  logLevel: LogLevel;
  delivery: DeliveryConfig;
}

export interface DeliveryConfig {
  /** Delays before each retry after the first attempt, in ms. */
  retrySchedule: readonly number[];
  timeoutMs: number;
  /** Consecutive failed events after which an endpoint is disabled. */
  failureThreshold: number;
  /** How long the previous secret keeps signing after a rotation. */
  secretGracePeriodMs: number;
  /** Attempts sent concurrently, across all endpoints. */
  maxInFlight: number;
}

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

type Parsed<T> = { value: T } | { error: string };

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => Parsed<T>): T => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const parsed = parse(raw);
    if ('value' in parsed) return parsed.value;
    problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error}`);
    return fallback;
  };
  const config: AppConfig = {
    port: read('PORT', 3000, parsePort),
    host: env.HOST?.trim() || '0.0.0.0',
    dataDir: resolve(env.DATA_DIR?.trim() || './data'),
    allowPrivateNetworks: read('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false, parseBoolean),
    logLevel: read('LOG_LEVEL', 'log', parseLogLevel),
    delivery: {
      retrySchedule: read('WEBHOOK_RETRY_SCHEDULE', DEFAULT_RETRY_SCHEDULE_MS, durations),
      timeoutMs: read('WEBHOOK_TIMEOUT_MS', 10_000, positiveInteger),
      failureThreshold: read('WEBHOOK_FAILURE_THRESHOLD', 10, positiveInteger),
      secretGracePeriodMs: read('WEBHOOK_SECRET_GRACE_PERIOD', 24 * 3600_000, duration),
      maxInFlight: read('WEBHOOK_MAX_IN_FLIGHT', 256, positiveInteger),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parsePort(raw: string): Parsed<number> {
  const port = Number(raw);
  return /^\d+$/.test(raw) && port <= 65535
    ? { value: port }
    : { error: 'expected an integer port between 0 and 65535' };
}

export function parseBoolean(raw: string): Parsed<boolean> {
  const value = raw.toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return { value: true };
  if (['false', '0', 'no'].includes(value)) return { value: false };
  return { error: 'expected true or false' };
}

function parseLogLevel(raw: string): Parsed<LogLevel> {
  const level = LOG_LEVELS.find((l) => l === raw);
  return level ? { value: level } : { error: `expected one of ${LOG_LEVELS.join(', ')}` };
}

function positiveInteger(raw: string): Parsed<number> {
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= 1 && Number.isSafeInteger(value)
    ? { value }
    : { error: 'expected a positive integer' };
}

function duration(raw: string): Parsed<number> {
  try {
    return { value: parseDuration(raw) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function durations(raw: string): Parsed<number[]> {
  try {
    return { value: parseDurationList(raw) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
