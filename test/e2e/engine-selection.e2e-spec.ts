import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, loadConfig } from '../../src/config/config';
import { openEngine } from '../../src/engine/engine';
import {
  MAIN,
  ServiceProcess,
  assertBuilt,
  freePort,
  runCli,
  startService,
} from '../support/service-process';

/**
 * Which engine the service opens, and how it refuses to start. No MongoDB or EventStoreDB server
 * runs here, so the production engines are tried against a closed port on 127.0.0.1: the process
 * must exit non-zero with one line naming the engine and its host, never the password.
 */
const PASSWORD = 'hunter2-Secret';
const WORKSPACE = '01a21c43-0000-7000-8000-0000000000aa';

/** A port nothing listens on: taken from the OS, then released. */
const closedPort = () => freePort();

/** Runs the built service to its exit; it is expected to fail before listening. */
async function runService(
  env: Record<string, string>,
): Promise<{ code: number | string; output: string }> {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(await freePort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | string>((resolve) =>
    child.once('exit', (status, signal) => resolve(status ?? signal ?? -1)),
  );
  clearTimeout(limit);
  return { code, output };
}

/** The output is one line starting with `prefix`; returns it without the prefix. */
function oneFailure(output: string, prefix: string): string {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0].startsWith(prefix)).toBe(true);
  return lines[0].slice(prefix.length);
}

/** The adapter's words may change; what it must say may not: engine, host, cause, variable. */
const startupFailure = (engine: string, host: string, variable: string) =>
  new RegExp(`${engine} at \\S*${host.replace(/\./g, '\\.')}\\b.*: .+ \\(check ${variable}\\)$`);

describe('engine selection', () => {
  let dataDir: string;
  const running: ServiceProcess[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-engines-'));
  });

  afterEach(async () => {
    for (const service of running.splice(0)) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded engine without the variables, and says so at start', async () => {
    const service = await startService({ DATA_DIR: dataDir, LOG_LEVEL: 'log' });
    running.push(service);
    expect(service.output()).toContain(`Storage: embedded SQLite in ${dataDir}`);
    expect(readdirSync(dataDir)).toContain('rapidly.db');
  });

  it('fails start-up on an unreachable MongoDB with one line naming its host, not the password', async () => {
    const port = await closedPort();
    const { code, output } = await runService({
      DATA_DIR: dataDir,
      MONGODB_URI: `mongodb://app:${PASSWORD}@127.0.0.1:${port}/?serverSelectionTimeoutMS=300`,
    });
    expect(code).toBe(1);
    expect(oneFailure(output, 'Failed to start: ')).toMatch(
      startupFailure('MongoDB', `127.0.0.1:${port}`, 'MONGODB_URI'),
    );
    expect(output).not.toContain(PASSWORD);
  });

  it('fails start-up on an unreachable EventStoreDB before trying MongoDB, naming its host', async () => {
    const [esdbPort, mongoPort] = [await closedPort(), await closedPort()];
    const { code, output } = await runService({
      DATA_DIR: dataDir,
      EVENTSTORE_CONNECTION_STRING: `esdb://admin:${PASSWORD}@127.0.0.1:${esdbPort}?tls=false`,
      MONGODB_URI: `mongodb://app:${PASSWORD}@127.0.0.1:${mongoPort}/?serverSelectionTimeoutMS=300`,
    });
    expect(code).toBe(1);
    expect(oneFailure(output, 'Failed to start: ')).toMatch(
      startupFailure('EventStoreDB', `127.0.0.1:${esdbPort}`, 'EVENTSTORE_CONNECTION_STRING'),
    );
    expect(output).not.toContain(PASSWORD);
  });

  it('refuses EventStoreDB without MongoDB before connecting to anything', async () => {
    const { code, output } = await runService({
      DATA_DIR: dataDir,
      EVENTSTORE_CONNECTION_STRING: `esdb://admin:${PASSWORD}@127.0.0.1:1?tls=false`,
    });
    expect(code).toBe(1);
    expect(output).toContain('EVENTSTORE_CONNECTION_STRING is set but MONGODB_URI is not');
    expect(output).not.toContain(PASSWORD);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('gives the CLI the same engine, and the same one-line failure', async () => {
    const port = await closedPort();
    const result = runCli(
      ['token', 'create', '--workspace', WORKSPACE, '--scopes', 'webhooks:read'],
      {
        DATA_DIR: dataDir,
        MONGODB_URI: `mongodb://app:${PASSWORD}@127.0.0.1:${port}/?serverSelectionTimeoutMS=300`,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(oneFailure(result.stderr, 'Error: ')).toMatch(
      startupFailure('MongoDB', `127.0.0.1:${port}`, 'MONGODB_URI'),
    );
    expect(result.stderr).not.toContain(PASSWORD);
  });

  describe('openEngine', () => {
    const mongoUri = async () =>
      `mongodb://app:${PASSWORD}@127.0.0.1:${await closedPort()}/?serverSelectionTimeoutMS=300`;

    /** The start-up error: its message, and no cause through which a logger could print more. */
    async function failureOf(config: AppConfig): Promise<string> {
      const error = await openEngine(config).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).cause).toBeUndefined();
      expect((error as Error).message).not.toContain(PASSWORD);
      return (error as Error).message;
    }

    it('opens the SQLite event store in DATA_DIR for MONGODB_URI alone', async () => {
      const config = loadConfig({ DATA_DIR: dataDir, MONGODB_URI: await mongoUri() });
      expect(await failureOf(config)).toMatch(/MongoDB at .*\(check MONGODB_URI\)$/);
      expect(readdirSync(dataDir)).toContain('rapidly.db');
    });

    it('leaves DATA_DIR alone when the event store is EventStoreDB', async () => {
      const config = loadConfig({
        DATA_DIR: dataDir,
        EVENTSTORE_CONNECTION_STRING: `esdb://admin:${PASSWORD}@127.0.0.1:${await closedPort()}?tls=false`,
        MONGODB_URI: await mongoUri(),
      });
      expect(await failureOf(config)).toMatch(
        /EventStoreDB at .*\(check EVENTSTORE_CONNECTION_STRING\)$/,
      );
      expect(readdirSync(dataDir)).toEqual([]);
    });
  });
});
