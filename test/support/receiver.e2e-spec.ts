import { randomBytes } from 'node:crypto';
import { HttpSender } from '../../src/delivery/http-sender';
import { signatureHeaders } from '../../src/delivery/signing';
import { Receiver, startReceiver } from './receiver';

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

describe('test receiver with HttpSender and signatureHeaders', () => {
  let sender: HttpSender;
  const receivers: Receiver[] = [];
  const receiver = async (options?: Parameters<typeof startReceiver>[0]) => {
    const r = await startReceiver(options);
    receivers.push(r);
    return r;
  };

  beforeEach(() => {
    sender = new HttpSender({
      timeoutMs: 5000,
      allowPrivateNetworks: true,
      userAgent: 'RapidlyWebhooks/0.1 (+https://rapidly.tech)',
    });
  });
  afterEach(async () => {
    sender.close();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  const deliver = (url: string, secrets: string[], body: string, webhookId = 'evt_1') =>
    sender.send({
      url,
      headers: signatureHeaders({ webhookId, timestamp: new Date(), body, secrets }),
      body,
    });

  it('records and verifies a signed delivery end to end', async () => {
    const secret = newSecret();
    const r = await receiver({ secret });
    const body = JSON.stringify({ type: 'customer.created', data: { id: 'c_1' } });
    const outcome = await deliver(`${r.url}hooks?x=1`, [secret], body);
    expect(outcome).toMatchObject({ kind: 'response', httpCode: 200, response: 'ok' });
    expect(r.received).toHaveLength(1);
    const [got] = r.received;
    expect(got).toMatchObject({
      method: 'POST',
      path: '/hooks?x=1',
      body,
      verified: true,
      verifiedSecrets: [secret],
    });
    expect(got.headers['webhook-id']).toBe('evt_1');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.receivedAt).toBeLessThanOrEqual(Date.now());
  });

  it('marks a request signed with another secret, or unsigned, as not verified', async () => {
    const r = await receiver({ secret: newSecret() });
    await deliver(r.url, [newSecret()], '{"a":1}');
    await sender.send({ url: r.url, headers: {}, body: '{"a":2}' });
    expect(r.received.map((x) => x.verified)).toEqual([false, false]);
  });

  it('verifies both secrets during a rotation and follows setSecret', async () => {
    const previous = newSecret();
    const current = newSecret();
    const r = await receiver({ secret: [previous, current] });
    await deliver(r.url, [current, previous], '{"n":1}');
    await deliver(r.url, [current], '{"n":2}');
    r.setSecret(previous);
    await deliver(r.url, [current], '{"n":3}');
    expect(r.received.map((x) => x.verifiedSecrets)).toEqual([[previous, current], [current], []]);
  });

  it('verifies non-whsec secrets as UTF-8 key bytes', async () => {
    const secret = 'plain sécret';
    const r = await receiver({ secret });
    await deliver(r.url, [secret], '{}');
    expect(r.received[0].verified).toBe(true);
  });

  it('answers with what respond() decides, including delays', async () => {
    const r = await receiver({
      respond: (_req, index) =>
        index === 0
          ? { status: 503, body: 'busy', headers: { 'retry-after': '3' } }
          : index === 1
            ? { status: 200, delayMs: 2000 }
            : { status: 410, body: 'gone' },
    });
    expect(await deliver(r.url, [newSecret()], '{}')).toMatchObject({
      kind: 'response',
      httpCode: 503,
      response: 'busy',
      retryAfterMs: 3000,
    });
    const slow = new HttpSender({ timeoutMs: 200, allowPrivateNetworks: true, userAgent: 'test' });
    try {
      expect(await slow.send({ url: r.url, headers: {}, body: '{}' })).toMatchObject({
        kind: 'unreachable',
        error: 'Timed out after 200 ms',
      });
    } finally {
      slow.close();
    }
    expect(await deliver(r.url, [newSecret()], '{}')).toMatchObject({ httpCode: 410 });
    await expect(r.waitFor(3, 1000)).resolves.toHaveLength(3);
    await expect(r.waitFor(4, 50)).rejects.toThrow('expected 4 request(s) within 50 ms, got 3');
  });
});
