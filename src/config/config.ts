import { resolve } from 'node:path';
import {
  DEFAULT_RETRY_SCHEDULE_MS,
  parseDuration,
  parseDurationList,
} from '../delivery/retry-policy';
import {
  Checked,
  checkEventStoreConnectionString,
  checkMongoUri,
  maskCredentials,
} from './connection-strings';

/** Typed, validated runtime configuration. Every value comes from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Development only: allow private/loopback targets and plain http endpoint URLs. */
  allowPrivateNetworks: boolean;
  logLevel: LogLevel;
  /** `json`: one JSON object per line; `text`: Nest's coloured console lines (development). */
  logFormat: LogFormat;
  delivery: DeliveryConfig;
  retention: RetentionConfig;
  engines: EnginesConfig;
  operations: OperationsConfig;
}

export interface OperationsConfig {
  /** GET /ready answers 503 while a projection is more than this many events behind the log. */
  readyMaxLag: number;
}

export interface RetentionConfig {
  /** Payloads of webhook events created longer ago than this are archived; null: kept forever. */
  eventRetentionMs: number | null;
  /** How often the retention job looks for events to archive. */
  checkIntervalMs: number;
}

/** The production engines; with neither set, the embedded SQLite engine in `dataDir` is used. */
export interface EnginesConfig {
  /** The event store on EventStoreDB instead of SQLite (needs `mongoDb` for the read models). */
  eventStoreDb: EventStoreDbConfig | null;
  /** The read models on MongoDB instead of SQLite. */
  mongoDb: MongoDbConfig | null;
}

export interface EventStoreDbConfig {
  connectionString: string;
  /** Namespaces this deployment's streams, so several can share one cluster. */
  streamPrefix: string | undefined;
}

export interface MongoDbConfig {
  uri: string;
  database: string;
}

export const DEFAULT_MONGODB_DATABASE = 'rapidly_webhooks';

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

const DAY_MS = 24 * 3600_000;

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

type Parsed<T> = { value: T } | { error: string };

/** Reads an optional variable: undefined when unset or invalid (the problem is recorded). */
type ReadOptional = (
  name: string,
  check: (raw: string) => Checked,
  show?: (raw: string) => string,
) => string | undefined;

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  /** `show` turns a bad value into its quoted form for the message (connection strings masked). */
  const read = <T>(
    name: string,
    fallback: T,
    parse: (raw: string) => Parsed<T>,
    show: (raw: string) => string = (raw) => raw,
  ): T => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const parsed = parse(raw);
    if ('value' in parsed) return parsed.value;
    problems.push(`${name}=${JSON.stringify(show(raw))}: ${parsed.error}`);
    return fallback;
  };
  const optional: ReadOptional = (name, check, show) =>
    read<string | undefined>(name, undefined, check, show);
  const config: AppConfig = {
    port: read('PORT', 3000, parsePort),
    host: env.HOST?.trim() || '0.0.0.0',
    dataDir: resolve(env.DATA_DIR?.trim() || './data'),
    allowPrivateNetworks: read('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false, parseBoolean),
    logLevel: read('LOG_LEVEL', 'log', parseLogLevel),
    logFormat: read('LOG_FORMAT', 'json', parseLogFormat),
    delivery: {
      retrySchedule: read('WEBHOOK_RETRY_SCHEDULE', DEFAULT_RETRY_SCHEDULE_MS, durations),
      timeoutMs: read('WEBHOOK_TIMEOUT_MS', 10_000, positiveInteger),
      failureThreshold: read('WEBHOOK_FAILURE_THRESHOLD', 10, positiveInteger),
      secretGracePeriodMs: read('WEBHOOK_SECRET_GRACE_PERIOD', 24 * 3600_000, duration),
      maxInFlight: read('WEBHOOK_MAX_IN_FLIGHT', 256, positiveInteger),
    },
    retention: {
      eventRetentionMs: read('WEBHOOK_EVENT_RETENTION_DAYS', 30 * DAY_MS, retentionDays),
      checkIntervalMs: read('WEBHOOK_RETENTION_CHECK_INTERVAL', 3600_000, positiveDuration),
    },
    engines: readEngines(env, optional, problems),
    operations: {
      readyMaxLag: read('WEBHOOK_READY_MAX_LAG', 1000, nonNegativeInteger),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * EVENTSTORE_CONNECTION_STRING needs MONGODB_URI: the SQLite read models follow the SQLite event
 * log only, and replicas need read models they share. The companion variables need theirs.
 */
function readEngines(env: Env, optional: ReadOptional, problems: string[]): EnginesConfig {
  const isSet = (name: string) => (env[name]?.trim() ?? '') !== '';
  const connectionString = optional(
    'EVENTSTORE_CONNECTION_STRING',
    checkEventStoreConnectionString,
    maskCredentials,
  );
  const streamPrefix = optional('EVENTSTORE_STREAM_PREFIX', checkStreamPrefix);
  const uri = optional('MONGODB_URI', checkMongoUri, maskCredentials);
  const database = optional('MONGODB_DATABASE', checkDatabaseName);

  if (isSet('EVENTSTORE_CONNECTION_STRING') && !isSet('MONGODB_URI')) {
    problems.push(
      'EVENTSTORE_CONNECTION_STRING is set but MONGODB_URI is not: the read models of an ' +
        'EventStoreDB event store live in MongoDB (set MONGODB_URI too, or unset ' +
        'EVENTSTORE_CONNECTION_STRING for the embedded SQLite engine)',
    );
  }
  if (isSet('EVENTSTORE_STREAM_PREFIX') && !isSet('EVENTSTORE_CONNECTION_STRING')) {
    problems.push(
      'EVENTSTORE_STREAM_PREFIX is set but EVENTSTORE_CONNECTION_STRING is not: the prefix ' +
        'applies to EventStoreDB streams only',
    );
  }
  if (isSet('MONGODB_DATABASE') && !isSet('MONGODB_URI')) {
    problems.push('MONGODB_DATABASE is set but MONGODB_URI is not: set both, or neither');
  }
  return {
    eventStoreDb: connectionString !== undefined ? { connectionString, streamPrefix } : null,
    mongoDb: uri !== undefined ? { uri, database: database ?? DEFAULT_MONGODB_DATABASE } : null,
  };
}

/** Stream names are `${prefix}${streamId}`; `$` starts EventStoreDB's system streams. */
function checkStreamPrefix(raw: string): Checked {
  return /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(raw)
    ? { value: raw }
    : {
        error:
          'expected 1 to 64 letters, digits, "_", ".", ":" or "-", starting with a letter or digit',
      };
}

/** MongoDB's rules for database names. */
function checkDatabaseName(raw: string): Checked {
  if (Buffer.byteLength(raw) > 63) return { error: 'a MongoDB database name has at most 63 bytes' };
  return /[/\\. "$*<>:|?]/.test(raw)
    ? { error: 'a MongoDB database name cannot contain any of / \\ . " $ * < > : | ? or a space' }
    : { value: raw };
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

function parseLogFormat(raw: string): Parsed<LogFormat> {
  const format = LOG_FORMATS.find((f) => f === raw.toLowerCase());
  return format ? { value: format } : { error: `expected one of ${LOG_FORMATS.join(', ')}` };
}

function positiveInteger(raw: string): Parsed<number> {
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= 1 && Number.isSafeInteger(value)
    ? { value }
    : { error: 'expected a positive integer' };
}

/** Days, fractions allowed (`0.5`: 12 hours); `0` keeps payloads forever. */
function retentionDays(raw: string): Parsed<number | null> {
  const days = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(days)) {
    return { error: 'expected a number of days, e.g. 30 or 0.5 (0 keeps payloads forever)' };
  }
  return { value: days === 0 ? null : Math.max(1, Math.round(days * DAY_MS)) };
}

function positiveDuration(raw: string): Parsed<number> {
  const parsed = duration(raw);
  return 'value' in parsed && parsed.value === 0
    ? { error: 'expected a duration above 0, e.g. "1h"' }
    : parsed;
}

function nonNegativeInteger(raw: string): Parsed<number> {
  const value = Number(raw);
  return /^\d+$/.test(raw) && Number.isSafeInteger(value)
    ? { value }
    : { error: 'expected an integer of 0 or more' };
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
