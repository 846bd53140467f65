import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { secretKey, signatureHeaders } from './signing';

function generatedSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const body = JSON.stringify({
  type: 'customer.created',
  timestamp: '2025-01-02T03:04:05.000Z',
  data: { id: 'c_1', name: 'Zoë 🚀' },
});

describe('secretKey', () => {
  it('base64-decodes whsec_ secrets', () => {
    const raw = randomBytes(32);
    expect(secretKey(`whsec_${raw.toString('base64')}`).equals(raw)).toBe(true);
  });

  it('uses any other secret as its UTF-8 bytes', () => {
    expect(secretKey('my-sécret').equals(Buffer.from('my-sécret', 'utf8'))).toBe(true);
    expect(secretKey('my-sécret')).toHaveLength(10);
  });
});

describe('signatureHeaders', () => {
  const webhookId = '0194f1c2-7a3b-7c00-8000-000000000001';

  it('produces headers the official standardwebhooks verifier accepts', () => {
    const secret = generatedSecret();
    const headers = signatureHeaders({ webhookId, timestamp: new Date(), body, secrets: [secret] });
    expect(Object.keys(headers).sort()).toEqual([
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    expect(headers['webhook-id']).toBe(webhookId);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('puts the timestamp in unix seconds and matches the official signer byte for byte', () => {
    const secret = generatedSecret();
    const timestamp = new Date('2025-06-01T12:00:00.999Z');
    const headers = signatureHeaders({ webhookId, timestamp, body, secrets: [secret] });
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(timestamp.getTime() / 1000)));
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(webhookId, timestamp, body));
  });

  it('signs with every secret during a rotation so both old and new verify', () => {
    const current = generatedSecret();
    const previous = generatedSecret();
    const headers = signatureHeaders({
      webhookId,
      timestamp: new Date(),
      body,
      secrets: [current, previous],
    });
    const entries = headers['webhook-signature'].split(' ');
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.startsWith('v1,'))).toBe(true);
    expect(() => new Webhook(current).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(previous).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generatedSecret()).verify(body, headers)).toThrow(
      'No matching signature found',
    );
  });

  it('fails verification when the body, timestamp or id is tampered with', () => {
    const secret = generatedSecret();
    const headers = signatureHeaders({ webhookId, timestamp: new Date(), body, secrets: [secret] });
    const wh = new Webhook(secret);
    expect(() => wh.verify(body.replace('c_1', 'c_2'), headers)).toThrow();
    expect(() => wh.verify(`${body} `, headers)).toThrow();
    const shifted = String(Number(headers['webhook-timestamp']) - 1);
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': shifted })).toThrow(
      'No matching signature found',
    );
    expect(() => wh.verify(body, { ...headers, 'webhook-id': `${webhookId}x` })).toThrow(
      'No matching signature found',
    );
  });

  it('uses a non-whsec secret as raw UTF-8 key bytes', () => {
    const secret = 'correct horse battery staple – ünïcode';
    const timestamp = new Date('2025-03-04T05:06:07Z');
    const headers = signatureHeaders({ webhookId, timestamp, body, secrets: [secret] });
    const seconds = Math.floor(timestamp.getTime() / 1000);
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(Buffer.from(`${webhookId}.${seconds}.${body}`, 'utf8'))
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
    // And the official verifier agrees when given the same raw key bytes.
    const verifier = new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
    const fresh = signatureHeaders({ webhookId, timestamp: new Date(), body, secrets: [secret] });
    expect(() => verifier.verify(body, fresh)).not.toThrow();
    expect(() => new Webhook(secret, { format: 'raw' }).verify(body, fresh)).toThrow(
      'No matching signature found', // its own raw mode is Latin-1, not UTF-8: proves the key differs
    );
  });

  it('does not repeat an identical secret and requires at least one', () => {
    const secret = generatedSecret();
    const headers = signatureHeaders({
      webhookId,
      timestamp: new Date(),
      body,
      secrets: [secret, secret],
    });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(() => signatureHeaders({ webhookId, timestamp: new Date(), body, secrets: [] })).toThrow(
      'at least one secret',
    );
  });
});
