import { LoggerService, LogLevel } from '@nestjs/common';

/** How Nest's levels are named in a JSON line (the usual names of log pipelines). */
const LEVEL_NAMES: Record<LogLevel, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Anything that looks like a credential, wherever it appears in a message. */
const SECRETS: ReadonlyArray<[RegExp, string]> = [
  [/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_[redacted]'],
  [/rwh_[A-Za-z0-9_-]+/g, 'rwh_[redacted]'],
  [/(Bearer\s+)[^\s"',;]+/gi, '$1[redacted]'],
  // Credentials in a connection string: scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1[redacted]@'],
];

/** The text with every signing secret, access token, bearer credential and URL password masked. */
export function redactSecrets(text: string): string {
  let redacted = text;
  for (const [pattern, replacement] of SECRETS) redacted = redacted.replace(pattern, replacement);
  return redacted;
}

export type LogSink = (line: string) => void;

const stdout: LogSink = (line) => process.stdout.write(line);

/**
 * Nest's logger as one JSON object per line: `time`, `level`, `context`, `msg`, and the fields of
 * a message given as an object (a request's `request_id`, `status`, ...). Every string is passed
 * through redactSecrets first, so a secret that slips into a message never reaches the log.
 */
export class JsonLogger implements LoggerService {
  private readonly enabled: ReadonlySet<LogLevel>;

  constructor(
    levels: readonly LogLevel[],
    private readonly sink: LogSink = stdout,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.enabled = new Set(levels);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /**
   * Nest calls `log(message, context)` and `error(message, stack, context)`: the last string
   * argument is the context, an earlier one (errors) the stack.
   */
  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.enabled.has(level)) return;
    const strings = rest.filter((r): r is string => typeof r === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    const stack = strings.length > 1 ? strings[0] : undefined;
    const entry: Record<string, unknown> = {
      time: this.clock().toISOString(),
      level: LEVEL_NAMES[level],
      ...(context !== undefined && { context }),
    };
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, message);
    } else {
      entry.msg = String(message);
    }
    if (stack !== undefined) entry.stack = stack;
    this.sink(redactSecrets(JSON.stringify(entry)) + '\n');
  }
}
