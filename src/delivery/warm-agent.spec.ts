import http, { ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { HttpSender } from './http-sender';
import { SPARES_PER_ORIGIN, WarmingHttpAgent } from './warm-agent';

/** A receiver on 127.0.0.1 that holds every response until the test releases them. */
async function holdingServer() {
  const held: ServerResponse[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    held,
    connections: () => connections,
    release: () => held.splice(0).forEach((res) => res.end('ok')),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const newSender = () =>
  new HttpSender({ timeoutMs: 5000, allowPrivateNetworks: true, userAgent: 'test' });

describe('WarmingHttpAgent: spare connections for busy plain-http origins', () => {
  let server: Awaited<ReturnType<typeof holdingServer>>;
  let sender: HttpSender;
  beforeEach(async () => {
    server = await holdingServer();
    sender = newSender();
  });
  afterEach(async () => {
    server.release();
    sender.close();
    await server.close();
  });

  /** Starts a send and records when it counted as sent in order. */
  function send(label: string, order: string[]) {
    const outcome = sender.send({
      url: server.url,
      headers: {},
      body: '{}',
      onSentInOrder: () => order.push(label),
    });
    return outcome;
  }

  it('opens no spare for requests one after the other', async () => {
    for (let i = 0; i < 3; i++) {
      const sending = send(`r${i}`, []);
      await until(() => server.held.length === 1, 'the request');
      server.release();
      await sending;
    }
    expect(server.connections()).toBe(1);
  });

  it('signals a request on a spare as sent in order at once, never one on a brand-new connection', async () => {
    const order: string[] = [];
    const first = send('first', order);
    await until(() => server.held.length === 1, 'the first request');
    // The only connection is busy: this one needs a new connection, and spares are opened.
    const second = send('second', order);
    await until(() => server.held.length === 2, 'the second request');
    await until(() => server.connections() === 2 + SPARES_PER_ORIGIN, 'the spares to connect');
    // A request on a brand-new connection is not "sent in order" before it is answered.
    expect(order).toEqual([]);

    // Both connections busy again: the third request goes out on a spare, which counts at once.
    await new Promise((r) => setImmediate(r));
    const third = send('third', order);
    await until(() => server.held.length === 3, 'the third request');
    await until(() => order.includes('third'), 'the third request to count as sent in order');
    expect(order).toEqual(['third']);
    // It opened no connection of its own: the spare was already there.
    expect(server.connections()).toBeGreaterThanOrEqual(2 + SPARES_PER_ORIGIN);

    server.release();
    for (const outcome of await Promise.all([first, second, third])) {
      expect(outcome).toMatchObject({ kind: 'response', httpCode: 200 });
    }
    // Requests on brand-new connections are never signalled: the caller waits for their outcome.
    expect(order).toEqual(['third']);
  });
});

describe('WarmingHttpAgent: spare lifetime', () => {
  it('closes idle spares after the idle time and on destroy', async () => {
    const server = await holdingServer();
    const agent = new WarmingHttpAgent({ keepAlive: true, spareIdleMs: 100 });
    const post = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(server.url, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end('{}');
      });
    try {
      const a = post();
      await until(() => server.held.length === 1, 'the first request');
      const b = post();
      await until(() => agent.spareCount() === SPARES_PER_ORIGIN, 'the spares');
      await until(() => server.held.length === 2, 'the second request');
      server.release();
      await Promise.all([a, b]);
      await until(() => agent.spareCount() === 0, 'the idle spares to close');
    } finally {
      agent.destroy();
      await server.close();
    }
    expect(agent.spareCount()).toBe(0);
  });
});
