import http, { IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A local webhook receiver for e2e tests: an HTTP server on 127.0.0.1 that records every request
 * and checks its Standard Webhooks signature with the official `standardwebhooks` package, so the
 * tests verify what a real customer would verify, not our own signing code.
 */

export interface ReceivedRequest {
  method: string;
  /** Path and query string as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** True when the signature verified with at least one of the receiver's secrets. */
  verified: boolean;
  /** The receiver's secrets that verified this request (all of them during a rotation). */
  verifiedSecrets: string[];
  /** Date.now() when the body had been fully received. */
  receivedAt: number;
}

export interface ReceiverResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (e.g. to provoke a sender timeout). */
  delayMs?: number;
}

export interface ReceiverOptions {
  /** Secret(s) to verify with: `whsec_...` as the official library reads it, anything else as UTF-8. */
  secret?: string | string[];
  /** Decides the answer; `index` counts requests from 0. Default: 200 `ok`. */
  respond?: (
    request: ReceivedRequest,
    index: number,
  ) => ReceiverResponse | Promise<ReceiverResponse>;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Replaces the secrets used to verify later requests (e.g. after a rotation). */
  setSecret(secret: string | string[] | undefined): void;
  /** Resolves once at least `count` requests arrived; rejects after `timeoutMs` (default 10 s). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** The verifier the official package builds for a secret, with non-`whsec_` keys as UTF-8 bytes. */
function verifierFor(secret: string): Webhook {
  return secret.startsWith('whsec_')
    ? new Webhook(secret)
    : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
}

function signatureHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const pick = (name: string): string => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  return {
    'webhook-id': pick('webhook-id'),
    'webhook-timestamp': pick('webhook-timestamp'),
    'webhook-signature': pick('webhook-signature'),
  };
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let verifiers: Array<{ secret: string; webhook: Webhook }> = [];
  const setSecret = (secret: string | string[] | undefined): void => {
    const list = secret === undefined ? [] : Array.isArray(secret) ? secret : [secret];
    verifiers = list.map((s) => ({ secret: s, webhook: verifierFor(s) }));
  };
  setSecret(options.secret);

  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const respond = options.respond ?? ((): ReceiverResponse => ({ status: 200, body: 'ok' }));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = signatureHeaders(req.headers);
      const verifiedSecrets = verifiers
        .filter(({ webhook }) => {
          try {
            webhook.verify(body, headers, { jsonParse: false });
            return true;
          } catch {
            return false;
          }
        })
        .map(({ secret }) => secret);
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        verified: verifiedSecrets.length > 0,
        verifiedSecrets,
        receivedAt: Date.now(),
      };
      const index = received.push(request) - 1;
      waiters.forEach((check) => check());
      void Promise.resolve()
        .then(() => respond(request, index))
        .then(
          (answer) => {
            const send = (): void => {
              if (!res.destroyed) {
                res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
              }
            };
            if (answer.delayMs !== undefined && answer.delayMs > 0) {
              const timer = setTimeout(() => {
                timers.delete(timer);
                send();
              }, answer.delayMs);
              timers.add(timer);
            } else {
              send();
            }
          },
          (error: unknown) => {
            if (!res.destroyed) {
              res.writeHead(500).end(`receiver respond() threw: ${String(error)}`);
            }
          },
        );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    received,
    setSecret,
    waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
      return new Promise<ReceivedRequest[]>((resolve, reject) => {
        const check = (): void => {
          if (received.length >= count) {
            cleanup();
            resolve(received);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `receiver on port ${port}: expected ${count} request(s) within ${timeoutMs} ms, ` +
                `got ${received.length}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close(): Promise<void> {
      timers.forEach((timer) => clearTimeout(timer));
      timers.clear();
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
