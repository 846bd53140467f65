import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, runCli, startService } from '../support/service-process';

const WORKSPACE = '0195f0a0-0000-7000-8000-0000000000aa';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The built service's own output (`npm start`): JSON lines, request ids, no credentials. */
describe('structured logs', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-logging-'));
  });
  afterEach(async () => {
    service?.child.kill('SIGKILL');
    if (service) await service.exited;
    service = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const entries = (output: string) =>
    output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('writes JSON lines with a request id per request, and never a token or a secret', async () => {
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'log' };
    const created = runCli(
      ['token', 'create', '--workspace', WORKSPACE, '--scopes', 'webhooks:read,webhooks:write'],
      env,
    );
    expect(created.status).toBe(0);
    const token = created.stdout.trim();
    service = await startService(env);
    const call = (path: string, init: RequestInit & { requestId?: string } = {}) =>
      fetch(`${service!.baseUrl}${path}`, {
        ...init,
        headers: {
          Authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(init.requestId && { 'x-request-id': init.requestId }),
        },
      });

    const secret = `whsec_${Buffer.from('a-secret-of-32-bytes-for-tests!!').toString('base64')}`;
    const createdEndpoint = await call('/api/webhooks/endpoints', {
      method: 'POST',
      requestId: 'create-endpoint-1',
      body: JSON.stringify({
        url: 'https://example.com/hook',
        format: 'raw',
        events: ['customer.created'],
        secret,
      }),
    });
    expect(createdEndpoint.status).toBe(201);
    expect(createdEndpoint.headers.get('x-request-id')).toBe('create-endpoint-1');
    const { id } = (await createdEndpoint.json()) as { id: string };
    const listed = await call(`/api/webhooks/endpoints?workspace_id=${WORKSPACE}`);
    expect(listed.status).toBe(200);
    const generated = listed.headers.get('x-request-id');
    expect(generated).toMatch(UUID);
    // A forged id (a line break) is replaced, not echoed.
    const forged = await call(`/api/webhooks/endpoints/${id}`, { requestId: 'x\ty' });
    expect(forged.headers.get('x-request-id')).toMatch(UUID);
    const missing = await fetch(`${service.baseUrl}/api/webhooks/endpoints/${id}`);
    expect(missing.status).toBe(401);

    // The last request's line is written once its response has gone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const output = service.output();
    const logged = entries(output);
    expect(logged.every((e) => typeof e.time === 'string' && typeof e.level === 'string')).toBe(
      true,
    );
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'info', context: 'Rapidly Webhooks' }),
    );
    const requests = logged.filter((e) => e.context === 'HTTP');
    expect(requests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'info',
          request_id: 'create-endpoint-1',
          method: 'POST',
          route: '/api/webhooks/endpoints',
          status: 201,
          duration_ms: expect.any(Number),
        }),
        expect.objectContaining({
          request_id: generated,
          route: '/api/webhooks/endpoints',
          status: 200,
        }),
        expect.objectContaining({ route: '/api/webhooks/endpoints/:id', status: 401 }),
      ]),
    );
    // Neither the token, nor the secret, nor the query string reach the log.
    expect(output).not.toContain(token);
    expect(output).not.toContain(token.slice(4));
    expect(output).not.toContain(secret);
    expect(output).not.toContain(`workspace_id=${WORKSPACE}`);
  });

  it('writes text lines with LOG_FORMAT=text', async () => {
    service = await startService({ DATA_DIR: dataDir, LOG_LEVEL: 'log', LOG_FORMAT: 'text' });
    expect(service.output()).toContain('Listening on');
    expect(() => entries(service!.output())).toThrow();
  });
});
