import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com).
 *
 * Pure functions: no I/O, no clock. The caller supplies the message id (the WebhookEvent id, stable
 * across retries), the attempt's timestamp and the exact body bytes that will be sent.
 */

const WHSEC_PREFIX = 'whsec_';

/**
 * The HMAC key for a secret. Generated secrets are `whsec_` + base64 and the key is the decoded
 * bytes (what the official verifiers do); any other user-supplied secret is used as its raw UTF-8
 * bytes.
 */
export function secretKey(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) {
    return Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64');
  }
  return Buffer.from(secret, 'utf8');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for one secret. */
export function sign(
  secret: string,
  webhookId: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${webhookId}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return `v1,${mac}`;
}

export interface SignatureInput {
  webhookId: string;
  timestamp: Date;
  body: string;
  /** The current secret first; during a rotation grace period also the previous one. */
  secrets: readonly string[];
}

/** The three Standard Webhooks headers, with one `v1,` signature entry per secret. */
export function signatureHeaders(input: SignatureInput): Record<string, string> {
  if (input.secrets.length === 0) {
    throw new Error('signatureHeaders: at least one secret is required');
  }
  const timestampSeconds = Math.floor(input.timestamp.getTime() / 1000);
  // The same secret twice (e.g. rotated to itself) would only repeat an identical entry.
  const signatures = [...new Set(input.secrets)].map((secret) =>
    sign(secret, input.webhookId, timestampSeconds, input.body),
  );
  return {
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}
