import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, ServiceProcess, startService } from '../support/service-process';

const WORKSPACE = '01a21c43-0000-7000-8000-0000000000aa';

describe('the service as a process', () => {
  let dataDir: string;
  let env: Record<string, string>;
  const running: ServiceProcess[] = [];

  const start = async () => {
    const service = await startService(env);
    running.push(service);
    return service;
  };
  const api =
    (service: ServiceProcess, token: string) =>
    (path: string, init: RequestInit = {}) =>
      fetch(`${service.baseUrl}/api/webhooks${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
  const createToken = (scopes = 'webhooks:read,webhooks:write') => {
    const result = runCli(['token', 'create', '--workspace', WORKSPACE, '--scopes', scopes], env);
    expect(result.status).toBe(0);
    return result.stdout;
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-process-'));
    env = { DATA_DIR: dataDir };
  });

  afterEach(async () => {
    for (const service of running.splice(0)) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a created token alone on stdout, and the token works against the running service', async () => {
    const service = await start();
    const stdout = createToken();
    expect(stdout).toMatch(/^rwh_[A-Za-z0-9_-]{43}\n$/);
    const response = await api(service, stdout.trim())('/endpoints');
    expect(response.status).toBe(200);
  });

  it('keeps every acknowledged endpoint intact and identical across kill -9', async () => {
    let service = await start();
    const token = createToken().trim();
    const created: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 40; i++) {
      const response = await api(service, token)('/endpoints', {
        method: 'POST',
        body: JSON.stringify({
          url: `https://example.com/hook/${i}`,
          format: 'raw',
          events: ['customer.created'],
        }),
      });
      expect(response.status).toBe(201);
      created.push((await response.json()) as Record<string, unknown>);
    }
    // Writes in flight when the process dies: each one acknowledged must survive.
    const inFlight = Array.from({ length: 30 }, (_, i) =>
      api(service, token)('/endpoints', {
        method: 'POST',
        body: JSON.stringify({ url: `https://example.com/late/${i}`, format: 'slack', events: [] }),
      }).then(
        async (r) => (r.status === 201 ? ((await r.json()) as Record<string, unknown>) : null),
        () => null,
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    service.child.kill('SIGKILL');
    expect(await service.exited).toBe('SIGKILL');
    const acknowledged = (await Promise.all(inFlight)).filter((e) => e !== null);

    service = await start();
    for (const endpoint of [...created, ...acknowledged]) {
      const response = await api(service, token)(`/endpoints/${String(endpoint.id)}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(endpoint);
    }
    const list = (await (await api(service, token)('/endpoints?limit=100')).json()) as {
      meta: { total: number };
    };
    expect(list.meta.total).toBeGreaterThanOrEqual(created.length + acknowledged.length);
  });

  it('revokes a token from the CLI while the service runs: the next request gets 401', async () => {
    const service = await start();
    const token = createToken().trim();
    expect((await api(service, token)('/endpoints')).status).toBe(200);
    const listed = runCli(['token', 'list'], env);
    expect(listed.status).toBe(0);
    const id = listed.stdout.split('\n')[1].split('\t')[0];
    expect(listed.stdout).not.toContain(token);
    const revoked = runCli(['token', 'revoke', id], env);
    expect(revoked.status).toBe(0);
    const response = await api(service, token)('/endpoints');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
    expect(runCli(['token', 'list'], env).stdout).toMatch(new RegExp(`${id}.*revoked`));
  });

  it('creates user tokens for several workspaces, and explains bad CLI input', () => {
    const other = '01a21c43-0000-7000-8000-0000000000bb';
    const user = runCli(
      [
        'token',
        'create',
        '--user',
        'alice',
        '--workspaces',
        `${WORKSPACE},${other}`,
        '--scopes',
        'webhooks:read',
      ],
      env,
    );
    expect(user.status).toBe(0);
    expect(user.stdout).toMatch(/^rwh_\S+\n$/);
    expect(runCli(['token', 'list'], env).stdout).toContain(`user alice\t${WORKSPACE},${other}`);

    const badScope = runCli(
      ['token', 'create', '--workspace', WORKSPACE, '--scopes', 'webhooks:admin'],
      env,
    );
    expect(badScope.status).toBe(2);
    expect(badScope.stderr).toContain('Unknown scope "webhooks:admin"');
    const badWorkspace = runCli(
      ['token', 'create', '--workspace', 'nope', '--scopes', 'webhooks:read'],
      env,
    );
    expect(badWorkspace.status).toBe(2);
    expect(badWorkspace.stderr).toContain('"nope" is not a UUID');
    const unknown = runCli(['token', 'revoke', '01a21c43-0000-7000-8000-000000000999'], env);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('Token not found');
  });

  it('refuses to start on a bad configuration value, naming it', async () => {
    const service = startService(
      { ...env, PORT: 'eighty', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' },
      1,
    );
    await expect(service).rejects.toThrow(
      /PORT="eighty".*\n.*WEBHOOK_ALLOW_PRIVATE_NETWORKS="maybe"/,
    );
  });

  it('shuts down gracefully on SIGTERM and keeps its data', async () => {
    let service = await start();
    const token = createToken().trim();
    const response = await api(service, token)('/endpoints', {
      method: 'POST',
      body: JSON.stringify({ url: 'https://example.com/x', format: 'discord', events: [] }),
    });
    const endpoint = (await response.json()) as { id: string };
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    service = await start();
    expect((await api(service, token)(`/endpoints/${endpoint.id}`)).status).toBe(200);
  });
});
