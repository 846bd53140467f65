import http, { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import net, { AddressInfo } from 'node:net';
import { HttpSender, HttpSenderOptions, Resolver, SendOutcome } from './http-sender';

// Every test talks to servers on 127.0.0.1 only. Where a "public" address appears, the request
// must be refused before connecting, and `forbidConnections` makes any attempt fail the test
// instead of reaching the network.

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  port: number;
  url: string;
  requests: Recorded[];
  connections: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function startServer(handler: Handler = (_q, res) => res.end('ok')): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  const state: TestServer = {
    port: 0,
    url: '',
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

/** A raw TCP listener: counts connections, captures the first bytes, never answers. */
async function startSilentTcp(): Promise<{
  port: number;
  connections: number;
  firstBytes: Promise<Buffer>;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let gotBytes: (b: Buffer) => void = () => undefined;
  const firstBytes = new Promise<Buffer>((resolve) => (gotBytes = resolve));
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', (data) => gotBytes(data));
  });
  const state = {
    port: 0,
    connections: 0,
    firstBytes,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Makes any outgoing TCP connection attempt throw (and be recorded) for the rest of the test. */
function forbidConnections(): jest.SpyInstance {
  return jest.spyOn(net.Socket.prototype, 'connect').mockImplementation(() => {
    throw new Error('a connection was attempted');
  });
}

/** Resolver double: answers from a table and counts calls. */
function fakeResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return addresses.map(
      (address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const,
    );
  };
  return Object.assign(resolve, { calls });
}

const senders: HttpSender[] = [];
const servers: Array<{ close(): Promise<void> }> = [];

function sender(overrides: Partial<HttpSenderOptions> = {}): HttpSender {
  const s = new HttpSender({
    timeoutMs: 5000,
    allowPrivateNetworks: true,
    userAgent: 'RapidlyWebhooks/0.1 (+https://rapidly.tech)',
    ...overrides,
  });
  senders.push(s);
  return s;
}

async function server(handler?: Handler): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}

afterEach(async () => {
  jest.restoreAllMocks();
  senders.splice(0).forEach((s) => s.close());
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const body = JSON.stringify({ type: 'customer.created', data: { id: 'c_1', name: 'Zoë' } });

function expectResponse(outcome: SendOutcome): Extract<SendOutcome, { kind: 'response' }> {
  if (outcome.kind !== 'response') {
    throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  }
  expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  return outcome;
}

describe('HttpSender: responses', () => {
  it('POSTs the body with the given headers, JSON content type and user agent', async () => {
    const srv = await server((_q, res) => res.writeHead(204).end());
    const outcome = await sender().send({
      url: `${srv.url}/hooks/a?x=1&y=%20`,
      headers: { 'webhook-id': 'msg_1', 'Webhook-Timestamp': '1700000000' },
      body,
    });
    expect(expectResponse(outcome)).toEqual({
      kind: 'response',
      httpCode: 204,
      response: '',
      durationMs: outcome.durationMs,
      retryAfterMs: null,
    });
    expect(srv.requests).toHaveLength(1);
    const [req] = srv.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hooks/a?x=1&y=%20');
    expect(req.body).toBe(body);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(req.headers['user-agent']).toBe('RapidlyWebhooks/0.1 (+https://rapidly.tech)');
    expect(req.headers['webhook-id']).toBe('msg_1');
    expect(req.headers['webhook-timestamp']).toBe('1700000000');
    expect(req.headers.host).toBe(`127.0.0.1:${srv.port}`);
  });

  it.each([
    [200, 'accepted'],
    [400, '{"error":"bad request"}'],
    [404, 'no such hook'],
    [410, 'gone'],
    [500, 'internal error'],
    [502, 'bad gateway'],
  ])('returns status %d and its body', async (status, text) => {
    const srv = await server((_q, res) => res.writeHead(status).end(text));
    const outcome = expectResponse(await sender().send({ url: srv.url, headers: {}, body }));
    expect(outcome.httpCode).toBe(status);
    expect(outcome.response).toBe(text);
  });

  it.each([301, 302, 303, 307, 308])('does not follow a %d redirect', async (status) => {
    const target = await server((_q, res) => res.end('should never be reached'));
    const srv = await server((_q, res) =>
      res.writeHead(status, { location: `${target.url}/elsewhere` }).end('moved'),
    );
    const outcome = expectResponse(await sender().send({ url: srv.url, headers: {}, body }));
    expect(outcome.httpCode).toBe(status);
    expect(outcome.response).toBe('moved');
    expect(target.requests).toHaveLength(0);
    expect(target.connections).toBe(0);
  });

  it('parses Retry-After on 429 and 503 only', async () => {
    const future = new Date(Date.now() + 120_000).toUTCString();
    const srv = await server((req, res) => {
      const [status, value] = (req.url ?? '').slice(1).split('/');
      res.writeHead(Number(status), { 'retry-after': decodeURIComponent(value) }).end();
    });
    const s = sender();
    const send = async (status: number, value: string) =>
      expectResponse(
        await s.send({
          url: `${srv.url}/${status}/${encodeURIComponent(value)}`,
          headers: {},
          body,
        }),
      ).retryAfterMs;
    expect(await send(429, '7')).toBe(7000);
    const fromDate = await send(503, future);
    expect(fromDate).toBeGreaterThan(60_000);
    expect(fromDate).toBeLessThanOrEqual(120_000);
    expect(await send(503, 'later')).toBeNull();
    expect(await send(500, '7')).toBeNull();
    expect(await send(200, '7')).toBeNull();
  });

  it('truncates the response to maxResponseChars', async () => {
    const srv = await server((_q, res) => res.end('x'.repeat(5000)));
    const outcome = expectResponse(await sender().send({ url: srv.url, headers: {}, body }));
    expect(outcome.response).toBe('x'.repeat(2048));
    const short = expectResponse(
      await sender({ maxResponseChars: 10 }).send({ url: srv.url, headers: {}, body }),
    );
    expect(short.response).toBe('xxxxxxxxxx');
  });

  it('counts characters, not bytes, and never splits a surrogate pair', async () => {
    const srv = await server((req, res) =>
      res.end(req.url === '/euro' ? '€'.repeat(3000) : `a${'😀'.repeat(2000)}`),
    );
    const s = sender();
    const euro = expectResponse(await s.send({ url: `${srv.url}/euro`, headers: {}, body }));
    expect(euro.response).toBe('€'.repeat(2048));
    const emoji = expectResponse(await s.send({ url: `${srv.url}/emoji`, headers: {}, body }));
    expect(emoji.response).toBe(`a${'😀'.repeat(1023)}`);
    expect(emoji.response).toHaveLength(2047);
  });

  it('stops reading a 5 MB response after the part it keeps', async () => {
    const srv = await server((_q, res) => res.end(Buffer.alloc(5 * 1024 * 1024, 'y')));
    const outcome = expectResponse(await sender().send({ url: srv.url, headers: {}, body }));
    expect(outcome.httpCode).toBe(200);
    expect(outcome.response).toBe('y'.repeat(2048));
  });

  it('does not wait for the end of an endless response', async () => {
    const srv = await server((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'z');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    // If the sender buffered until the end it would hit this timeout and report 'unreachable'.
    const outcome = expectResponse(
      await sender({ timeoutMs: 20_000 }).send({ url: srv.url, headers: {}, body }),
    );
    expect(outcome.response).toBe('z'.repeat(2048));
  });

  it('reuses keep-alive connections across sends', async () => {
    const srv = await server();
    const s = sender();
    for (let i = 0; i < 5; i += 1) {
      expect(expectResponse(await s.send({ url: srv.url, headers: {}, body })).httpCode).toBe(200);
    }
    expect(srv.requests).toHaveLength(5);
    expect(srv.connections).toBe(1);
  });

  it('retries once on a fresh connection when a reused keep-alive socket was dropped', async () => {
    let first: net.Socket | undefined;
    let onFirst = 0;
    const srv = await server((req, res) => {
      first ??= req.socket;
      if (req.socket === first && ++onFirst === 2) {
        req.socket.destroy(); // what a server closing an idle connection looks like to us
        return;
      }
      res.end('ok');
    });
    const s = sender();
    expect(expectResponse(await s.send({ url: srv.url, headers: {}, body })).httpCode).toBe(200);
    const second = expectResponse(await s.send({ url: srv.url, headers: {}, body }));
    expect(second.httpCode).toBe(200);
    expect(srv.connections).toBe(2);
  });
});

describe('HttpSender: failures', () => {
  it('times out a server that never answers', async () => {
    const silent = await startSilentTcp();
    servers.push(silent);
    const outcome = await sender({ timeoutMs: 300 }).send({
      url: `http://127.0.0.1:${silent.port}/`,
      headers: {},
      body,
    });
    expect(outcome).toEqual({
      kind: 'unreachable',
      error: 'Timed out after 300 ms',
      durationMs: outcome.durationMs,
      permanent: false,
    });
    expect(silent.connections).toBe(1);
  });

  it('times out a response that starts but never finishes', async () => {
    const srv = await server((_q, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const outcome = await sender({ timeoutMs: 300 }).send({ url: srv.url, headers: {}, body });
    expect(outcome).toMatchObject({ kind: 'unreachable', error: 'Timed out after 300 ms' });
  });

  it('reports a closed port as unreachable with the connect error', async () => {
    const port = await closedPort();
    const outcome = await sender().send({ url: `http://127.0.0.1:${port}/`, headers: {}, body });
    expect(outcome).toEqual({
      kind: 'unreachable',
      error: `connect ECONNREFUSED 127.0.0.1:${port}`,
      durationMs: outcome.durationMs,
      permanent: false,
    });
  });

  it('reports a DNS failure as retryable', async () => {
    const resolve = fakeResolver({ 'empty.test': [] });
    const s = sender({ resolve });
    const missing = await s.send({ url: 'https://nowhere.test/', headers: {}, body });
    expect(missing).toMatchObject({
      kind: 'unreachable',
      error: 'DNS lookup failed: getaddrinfo ENOTFOUND nowhere.test',
      permanent: false,
    });
    const empty = await s.send({ url: 'https://empty.test/', headers: {}, body });
    expect(empty).toMatchObject({
      kind: 'unreachable',
      error: 'DNS lookup failed: no addresses for empty.test',
    });
  });

  it('counts a hanging DNS lookup against the timeout', async () => {
    const outcome = await sender({
      timeoutMs: 200,
      resolve: () => new Promise(() => undefined),
    }).send({ url: 'https://slow-dns.test/', headers: {}, body });
    expect(outcome).toMatchObject({ kind: 'unreachable', error: 'Timed out after 200 ms' });
  });

  it('never rejects: a throwing resolver and an unsendable header become outcomes', async () => {
    const throwing = sender({
      resolve: () => {
        throw new Error('resolver exploded');
      },
    });
    expect(await throwing.send({ url: 'https://x.test/', headers: {}, body })).toMatchObject({
      kind: 'unreachable',
      error: 'DNS lookup failed: resolver exploded',
    });
    const srv = await server();
    const outcome = await sender().send({ url: srv.url, headers: { 'x-bad': 'a\r\nb' }, body });
    expect(outcome).toMatchObject({ kind: 'refused', permanent: true });
    expect(outcome.kind === 'refused' && outcome.error).toMatch(/^Invalid request: .*x-bad/);
    expect(srv.connections).toBe(0);
  });

  it('refuses URLs it cannot send to', async () => {
    const s = sender();
    expect(await s.send({ url: 'not a url', headers: {}, body })).toMatchObject({
      kind: 'refused',
      error: 'Invalid URL: "not a url"',
      permanent: true,
    });
    expect(await s.send({ url: 'ftp://127.0.0.1/x', headers: {}, body })).toMatchObject({
      kind: 'refused',
      error: 'Refused: unsupported URL scheme ftp:',
    });
  });
});

describe('HttpSender: SSRF guard at send time', () => {
  it('refuses a hostname resolving to a private address without connecting', async () => {
    const resolve = fakeResolver({ 'internal.example': ['10.0.0.1'] });
    const connect = forbidConnections();
    const outcome = await sender({ allowPrivateNetworks: false, resolve }).send({
      url: 'https://internal.example/hook',
      headers: {},
      body,
    });
    expect(outcome).toEqual({
      kind: 'refused',
      error:
        'Refused: internal.example resolves to 10.0.0.1, which is not a globally routable address (SSRF protection)',
      durationMs: outcome.durationMs,
      permanent: true,
    });
    expect(resolve.calls).toEqual(['internal.example']);
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses when any resolved address is not global', async () => {
    const resolve = fakeResolver({ 'mixed.example': ['93.184.216.34', '127.0.0.1'] });
    const connect = forbidConnections();
    const outcome = await sender({ allowPrivateNetworks: false, resolve }).send({
      url: 'https://mixed.example/',
      headers: {},
      body,
    });
    expect(outcome).toMatchObject({ kind: 'refused', permanent: true });
    expect(outcome.kind === 'refused' && outcome.error).toContain(
      'mixed.example resolves to 127.0.0.1,',
    );
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses IPv6 and mapped addresses from DNS', async () => {
    const resolve = fakeResolver({
      'v6.example': ['2606:4700::1111', 'fd00::1'],
      'mapped.example': ['::ffff:169.254.169.254'],
    });
    const connect = forbidConnections();
    const s = sender({ allowPrivateNetworks: false, resolve });
    const v6 = await s.send({ url: 'https://v6.example/', headers: {}, body });
    expect(v6.kind === 'refused' && v6.error).toContain('resolves to fd00::1,');
    const mapped = await s.send({ url: 'https://mapped.example/', headers: {}, body });
    expect(mapped.kind).toBe('refused');
    expect(connect).not.toHaveBeenCalled();
  });

  it('does not connect even when the private address has a listening server', async () => {
    const srv = await server();
    const resolve = fakeResolver({ 'sneaky.example': ['127.0.0.1'] });
    const outcome = await sender({ allowPrivateNetworks: false, resolve }).send({
      url: `https://sneaky.example:${srv.port}/`,
      headers: {},
      body,
    });
    expect(outcome.kind).toBe('refused');
    expect(srv.connections).toBe(0);
  });

  it.each([
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:a00:1]/',
    'https://0x7f.1/',
    'https://2130706433/',
    'https://169.254.169.254/latest/meta-data',
    'https://10.0.0.1/',
    'https://0.0.0.0/',
  ])('refuses the literal address in %s without resolving or connecting', async (url) => {
    const resolve = fakeResolver({});
    const connect = forbidConnections();
    const outcome = await sender({ allowPrivateNetworks: false, resolve }).send({
      url,
      headers: {},
      body,
    });
    expect(outcome).toMatchObject({ kind: 'refused', permanent: true });
    expect(outcome.kind === 'refused' && outcome.error).toMatch(
      /^Refused: the address .+, which is not a globally routable address/,
    );
    expect(resolve.calls).toEqual([]);
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses plain http unless private networks are allowed', async () => {
    const srv = await server();
    const resolve = fakeResolver({ 'receiver.test': ['127.0.0.1'] });
    const outcome = await sender({ allowPrivateNetworks: false, resolve }).send({
      url: `http://receiver.test:${srv.port}/`,
      headers: {},
      body,
    });
    expect(outcome).toMatchObject({
      kind: 'refused',
      error: 'Refused: plain http is not allowed, use https',
      permanent: true,
    });
    expect(resolve.calls).toEqual([]);
    expect(srv.connections).toBe(0);
  });

  it('connects to the checked address, keeps the hostname, and resolves once per send', async () => {
    const srv = await server();
    const resolve = fakeResolver({ 'receiver.test': ['127.0.0.1'] });
    const connect = jest.spyOn(net.Socket.prototype, 'connect');
    const s = sender({ resolve });
    for (let i = 0; i < 3; i += 1) {
      const outcome = await s.send({
        url: `http://receiver.test:${srv.port}/in`,
        headers: {},
        body,
      });
      expect(expectResponse(outcome).httpCode).toBe(200);
      expect(resolve.calls).toHaveLength(i + 1);
    }
    expect(resolve.calls).toEqual(['receiver.test', 'receiver.test', 'receiver.test']);
    expect(srv.requests.map((r) => r.headers.host)).toEqual(
      Array(3).fill(`receiver.test:${srv.port}`),
    );
    // `receiver.test` does not exist in real DNS: reaching the server proves no second lookup.
    expect(connect).toHaveBeenCalled(); // the spy used by the refusal tests does see connections
  });

  it('sends the hostname as TLS SNI while connecting to the checked address', async () => {
    const tcp = await startSilentTcp();
    servers.push(tcp);
    const resolve = fakeResolver({ 'receiver.test': ['127.0.0.1'] });
    const pending = sender({ resolve, timeoutMs: 2000 }).send({
      url: `https://receiver.test:${tcp.port}/`,
      headers: {},
      body,
    });
    const hello = await Promise.race([tcp.firstBytes, pending.then(() => null)]);
    await tcp.close();
    expect(hello).not.toBeNull();
    expect(serverNameIndication(hello as Buffer)).toBe('receiver.test');
    expect((await pending).kind).toBe('unreachable');
    expect(resolve.calls).toEqual(['receiver.test']);
  });
});

/** Extracts the server_name from a TLS ClientHello record (RFC 8446 §4.1.2, RFC 6066 §3). */
function serverNameIndication(record: Buffer): string | null {
  let p = 0;
  if (record[p] !== 0x16) return null; // handshake record
  p += 5;
  if (record[p] !== 0x01) return null; // ClientHello
  p += 4 + 2 + 32; // handshake header, legacy_version, random
  p += 1 + record[p]; // session id
  p += 2 + record.readUInt16BE(p); // cipher suites
  p += 1 + record[p]; // compression methods
  const end = p + 2 + record.readUInt16BE(p);
  p += 2;
  while (p + 4 <= end) {
    const type = record.readUInt16BE(p);
    const length = record.readUInt16BE(p + 2);
    if (type === 0x0000) {
      const nameType = record[p + 6];
      const nameLength = record.readUInt16BE(p + 7);
      return nameType === 0 ? record.toString('ascii', p + 9, p + 9 + nameLength) : null;
    }
    p += 4 + length;
  }
  return null;
}
