import { ServiceProcess, startService } from './service-process';

/**
 * The built service on a fixed port, killed with SIGKILL and restarted on the same DATA_DIR on
 * demand (the port stays the same, so endpoint URLs and clients keep working). Clients call
 * `whenReady()` before each request and after a failed one: during a restart it resolves once
 * the new process answers /health, and rejects if the restart failed.
 */
export class ServiceSupervisor {
  /** Processes killed so far. */
  kills = 0;
  /** Per kill, Date.now() just before the SIGKILL and once the new process answered /health. */
  readonly restarts: Array<{ killedAt: number; restartedAt: number }> = [];
  private ready: Promise<void> = Promise.resolve();
  private restarting: Promise<void> = Promise.resolve();

  private constructor(
    public service: ServiceProcess,
    private readonly env: Record<string, string>,
    private readonly port: number,
  ) {}

  static async start(env: Record<string, string>, port: number): Promise<ServiceSupervisor> {
    return new ServiceSupervisor(await startService(env, port), env, port);
  }

  get baseUrl(): string {
    return this.service.baseUrl;
  }

  get alive(): boolean {
    const { child } = this.service;
    return child.exitCode === null && child.signalCode === null;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** SIGKILL, then a restart on the same DATA_DIR and port. Restarts run one at a time. */
  crashAndRestart(onEvent: (message: string) => void = () => undefined): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      const killed = this.service;
      // Swapped before the kill: a request failing because of it then waits for the new process.
      this.ready = (async () => {
        onEvent(`kill #${this.kills + 1} (pid ${killed.child.pid})`);
        const killedAt = Date.now();
        killed.child.kill('SIGKILL');
        await killed.exited;
        this.kills += 1;
        this.service = await startService(this.env, this.port);
        this.restarts.push({ killedAt, restartedAt: Date.now() });
        onEvent(`restarted (pid ${this.service.child.pid})`);
      })();
      await this.ready;
    });
    return this.restarting;
  }

  /** Kills the current process (whatever state a restart is in) and waits for it to end. */
  async stop(): Promise<void> {
    await this.restarting.catch(() => undefined);
    if (this.alive) this.service.child.kill('SIGKILL');
    await this.service.exited;
  }
}
