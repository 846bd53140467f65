import dns from 'node:dns';
import net, { LookupFunction } from 'node:net';
import { Resolver } from '../../../src/delivery/http-sender';
import { bearer } from '../../support/test-app';
import {
  DeliveryApp,
  QUIET_PERIOD_MS,
  createEndpoint,
  deliveriesOf,
  getEndpoint,
  newWorkspace,
  pause,
  publish,
  startDeliveryApp,
  waitForDeliveries,
  waitForEvent,
  waitUntil,
} from './delivery-helpers';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Fails closed: every outgoing TCP connection of this process (the test and the app share it) to
 * anything but loopback is destroyed before it is made, and recorded. The SSRF guard under test
 * must never get that far, but if it did, no traffic would leave the machine.
 */
function guardOutboundConnections(): { attempted: string[]; restore(): void } {
  const attempted: string[] = [];
  const prototype = net.Socket.prototype as unknown as { connect(...args: unknown[]): net.Socket };
  const original = prototype.connect;
  const block = (socket: net.Socket, address: string): net.Socket => {
    attempted.push(address);
    process.nextTick(() => socket.destroy(new Error(`test guard: blocked connect to ${address}`)));
    return socket;
  };
  prototype.connect = function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect() and http agents pass their normalised [options, callback] array.
    const [first] = args;
    const options = Array.isArray(first) ? (first[0] as unknown) : first;
    if (typeof options !== 'object' || options === null) return original.apply(this, args);
    const tcp = options as net.TcpSocketConnectOpts;
    if ('path' in tcp && tcp.path !== undefined) return original.apply(this, args);
    const host = tcp.host ?? 'localhost';
    if (net.isIP(host) !== 0 && !LOOPBACK.has(host)) return block(this, host);
    const lookup = tcp.lookup ?? (dns.lookup as unknown as LookupFunction);
    // In place: the options object belongs to this one connection.
    tcp.lookup = (hostname, lookupOptions, callback) =>
      lookup(hostname, lookupOptions, (error, address, family) => {
        const list =
          typeof address === 'string' ? [address] : (address ?? []).map((a) => a.address);
        const outside = list.filter((a) => !LOOPBACK.has(a));
        if (!error && outside.length > 0) {
          attempted.push(...outside);
          callback(new Error(`test guard: blocked connect to ${outside.join(', ')}`), '', 4);
          return;
        }
        callback(error, address as string, family);
      });
    return original.apply(this, args);
  };
  return { attempted, restore: () => (prototype.connect = original) };
}

/**
 * Send-time SSRF check with WEBHOOK_ALLOW_PRIVATE_NETWORKS off: the URLs pass the create-time
 * checks (they are names), but resolve to addresses that are not global when sent.
 */
describe('send-time SSRF protection', () => {
  const RESOLVES: Record<string, string[]> = {
    'internal.example': ['10.0.0.1'],
    'metadata.example': ['169.254.169.254'],
    'mapped.example': ['::ffff:10.0.0.1'],
    'mixed.example': ['93.184.215.14', '192.168.1.1'],
  };
  const lookups: string[] = [];
  const resolver: Resolver = async (hostname) => {
    lookups.push(hostname);
    const addresses = RESOLVES[hostname];
    if (!addresses) {
      throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
    }
    return addresses.map((address) => ({ address, family: net.isIP(address) as 4 | 6 }));
  };
  let guard: ReturnType<typeof guardOutboundConnections>;
  let app: DeliveryApp;

  beforeAll(async () => {
    guard = guardOutboundConnections();
    app = await startDeliveryApp(
      { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_FAILURE_THRESHOLD: '3' },
      { resolver },
    );
  });
  afterAll(async () => {
    await app.t.close();
    guard.restore();
  });
  afterEach(() => {
    // Whatever a test did, nothing was connected outside loopback.
    expect(guard.attempted).toEqual([]);
  });

  it('(the guard itself blocks and records connections outside loopback)', async () => {
    const failed = (socket: net.Socket) =>
      new Promise<string>((resolve) => socket.once('error', (e) => resolve(e.message)));
    const literal = net.connect({ host: '10.0.0.1', port: 443 });
    expect(await failed(literal)).toMatch(/test guard/);
    const pinned: LookupFunction = (_hostname, _options, callback) =>
      callback(null, [{ address: '10.0.0.1', family: 4 }]);
    const named = net.connect({ host: 'internal.example', port: 443, lookup: pinned });
    expect(await failed(named)).toMatch(/test guard/);
    expect(guard.attempted.splice(0)).toEqual(['10.0.0.1', '10.0.0.1']);
  });

  async function oneEventTo(url: string) {
    const w = { t: app.t, ...(await newWorkspace(app.t)) };
    const endpoint = await createEndpoint(w, { url });
    const published = await publish(w, 'customer.created', { id: 'c_1' });
    return { w, endpoint, eventId: published.webhook_event_ids[0] };
  }

  it.each([
    ['internal.example', '10.0.0.1'],
    ['metadata.example', '169.254.169.254'],
    ['mapped.example', '::ffff:10.0.0.1'],
    ['mixed.example', '192.168.1.1'],
  ])('refuses %s (resolving to %s) once, without retrying', async (host, refused) => {
    const { w, eventId } = await oneEventTo(`https://${host}/hook`);
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event).toMatchObject({ succeeded: false, last_http_code: null });
    expect(lookups).toContain(host);
    const [attempt] = await waitForDeliveries(w, eventId, 1);
    expect(attempt).toMatchObject({ succeeded: false, http_code: null });
    expect(attempt.response).toContain(`${host} resolves to ${refused}`);
    expect(attempt.response).toMatch(/not a globally routable address/);
    await pause(QUIET_PERIOD_MS);
    expect(await deliveriesOf(w, eventId)).toHaveLength(1);
  });

  it('counts refused attempts toward auto-disable', async () => {
    const { w, endpoint, eventId } = await oneEventTo('https://internal.example/hook');
    const more = [
      await publish(w, 'customer.created', { id: 'c_2' }),
      await publish(w, 'customer.created', { id: 'c_3' }),
    ].map((p) => p.webhook_event_ids[0]);
    for (const id of [eventId, ...more]) await waitForEvent(w, id, (e) => e.succeeded === false);
    await waitUntil('the endpoint to be disabled', async () =>
      (await getEndpoint(w, endpoint.id)).enabled ? undefined : true,
    );
  });

  it('treats a failed DNS lookup as an ordinary, retried failure', async () => {
    const { w, eventId } = await oneEventTo('https://flaky-dns.example/hook');
    const event = await waitForEvent(w, eventId, (e) => e.succeeded !== null);
    expect(event).toMatchObject({ succeeded: false, last_http_code: null });
    const attempts = await waitForDeliveries(w, eventId, 4);
    expect(attempts).toHaveLength(4);
    for (const attempt of attempts) expect(attempt.response).toMatch(/DNS lookup failed/);
  });

  it('still rejects literal private addresses when the endpoint is created', async () => {
    const w = { t: app.t, ...(await newWorkspace(app.t)) };
    for (const url of ['https://10.0.0.1/hook', 'https://127.0.0.1/hook', 'http://example.com/']) {
      await w.t.http
        .post('/api/webhooks/endpoints')
        .set(bearer(w.token))
        .send({ url, format: 'raw', events: ['customer.created'] })
        .expect(422);
    }
  });
});
