import { resolve } from 'node:path';

/** Typed, validated runtime configuration. Every value comes from the environment. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Development only: allow private/loopback targets and plain http endpoint URLs. */
  allowPrivateNetworks: boolean;
  logLevel: LogLevel;
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
