import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/support';

const ROOT = join(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** Process-level tests run the built service, as `npm start` does (`npm test` builds first). */
export function assertBuilt(): void {
  if (!existsSync(MAIN) || !existsSync(CLI)) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  }
}

export { freePort };

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
}

export async function startService(
  env: Record<string, string>,
  port?: number,
): Promise<ServiceProcess> {
  assertBuilt();
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(listenPort), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const baseUrl = `http://127.0.0.1:${listenPort}`;
  const service = { child, baseUrl, output: () => output, exited };
  await waitForHealth(service);
  return service;
}

async function waitForHealth(service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void service.exited.then(() => (ended = true));
  while (Date.now() < deadline) {
    if (ended) throw new Error(`Service exited during start:\n${service.output()}`);
    try {
      const response = await fetch(`${service.baseUrl}/health`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  service.child.kill('SIGKILL');
  throw new Error(`Service did not become healthy:\n${service.output()}`);
}

export function runCli(args: string[], env: Record<string, string>) {
  assertBuilt();
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
