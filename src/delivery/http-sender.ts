import { promises as dnsPromises, LookupAddress, LookupOptions } from 'node:dns';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { isGlobalAddress, parseIpLiteral } from '../ssrf/global-address';
import { parseRetryAfter } from './retry-policy';
import { WarmingHttpAgent, isAcceptedConnection } from './warm-agent';

/**
 * The HTTP sender: one signed POST, never a redirect, bounded in time and in how much of the
 * response it reads, with the SSRF check done at send time on the addresses it then connects to.
 *
 * No Nest, no database: the delivery engine wraps it. Success is the caller's call (2xx only);
 * this class only reports what happened.
 */

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /**
   * Called once a request sent after this one to the same receiver can no longer overtake it:
   * when it has been written to a connection the receiver's application has taken (a pooled one,
   * a pre-opened spare, or a TLS one, whose handshake it answered). Not called on a brand-new
   * plain-http connection, whose data can wait in the accept queue while open connections are
   * read: a caller keeping requests in order then waits for the outcome. Spares (see
   * WarmingHttpAgent) make that case rare.
   */
  onSentInOrder?: () => void;
}

export type SendOutcome =
  /** The receiver answered, whatever the status (3xx included: redirects are never followed). */
  | {
      kind: 'response';
      httpCode: number;
      response: string;
      durationMs: number;
      /** Parsed `Retry-After` of a 429 or 503 response, null otherwise. */
      retryAfterMs: number | null;
    }
  /** No answer: connection refused/reset, TLS failure, timeout, DNS failure. Retryable. */
  | { kind: 'unreachable'; error: string; durationMs: number; permanent: false }
  /** Not sent on purpose (SSRF guard, unusable URL). Retrying cannot help. */
  | { kind: 'refused'; error: string; durationMs: number; permanent: true };

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

export interface HttpSenderOptions {
  /** Total time for one send: DNS, connect, TLS, request and reading the response. */
  timeoutMs: number;
  /** Development flag: skip the global-address check and allow plain http. */
  allowPrivateNetworks: boolean;
  userAgent: string;
  /** How much of the response body is kept (characters), default 2048. */
  maxResponseChars?: number;
  /** Keep-alive pool size per origin, default 256. */
  maxSockets?: number;
  /** Injectable DNS; default `dns.promises.lookup(hostname, { all: true })`. */
  resolve?: Resolver;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_CHARS = 2048;
export const DEFAULT_MAX_SOCKETS = 256;

/**
 * After the kept part of the response, at most this many more bytes are read (and discarded) so
 * that a small response can finish and its keep-alive socket be reused; beyond it the response is
 * abandoned and its socket destroyed, so a huge body is never downloaded.
 */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** Idle keep-alive sockets are closed after this (or the server's Keep-Alive hint minus 1 s). */
const FREE_SOCKET_TIMEOUT_MS = 5_000;

type ResolvedAddress = { address: string; family: 4 | 6 };

type Target =
  | { ok: true; url: URL; secure: boolean; hostname: string; literal: ResolvedAddress | null }
  | { ok: false; error: string };

export class HttpSender {
  private readonly timeoutMs: number;
  private readonly allowPrivateNetworks: boolean;
  private readonly userAgent: string;
  private readonly maxResponseChars: number;
  private readonly resolve: Resolver;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(options: HttpSenderOptions) {
    this.timeoutMs = options.timeoutMs;
    this.allowPrivateNetworks = options.allowPrivateNetworks;
    this.userAgent = options.userAgent;
    this.maxResponseChars = options.maxResponseChars ?? DEFAULT_MAX_RESPONSE_CHARS;
    this.resolve = options.resolve ?? defaultResolve;
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
      scheduling: 'lifo' as const,
      timeout: FREE_SOCKET_TIMEOUT_MS,
    };
    this.httpAgent = new WarmingHttpAgent({ ...agentOptions, spareIdleMs: FREE_SOCKET_TIMEOUT_MS });
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /** Never rejects: every failure is an outcome. */
  async send(request: SendRequest): Promise<SendOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const deadline = started + this.timeoutMs;

    const target = this.parseTarget(request.url);
    if (!target.ok) {
      return { kind: 'refused', error: target.error, durationMs: elapsed(), permanent: true };
    }

    let addresses: ResolvedAddress[];
    if (target.literal !== null) {
      addresses = [target.literal];
    } else {
      const resolved = await this.resolveWithin(target.hostname, deadline);
      if (!resolved.ok) {
        return {
          kind: 'unreachable',
          error: resolved.error,
          durationMs: elapsed(),
          permanent: false,
        };
      }
      addresses = resolved.addresses;
    }

    if (!this.allowPrivateNetworks) {
      const blocked = addresses.filter((a) => !isGlobalAddress(a.address));
      if (blocked.length > 0) {
        const list = blocked.map((a) => a.address).join(', ');
        const subject =
          target.literal !== null
            ? `the address ${list}`
            : `${target.hostname} resolves to ${list}`;
        return {
          kind: 'refused',
          error: `Refused: ${subject}, which is not a globally routable address (SSRF protection)`,
          durationMs: elapsed(),
          permanent: true,
        };
      }
    }

    let attempt = await this.post(target, addresses, request, deadline);
    if (attempt.kind === 'stale-socket') {
      // A pooled keep-alive socket was closed by the server just as we reused it (the usual idle
      // timeout race). The receiver almost certainly never processed the request, and delivery is
      // at-least-once anyway, so one immediate retry on a fresh connection is the right call.
      attempt = await this.post(target, addresses, request, deadline);
    }
    switch (attempt.kind) {
      case 'response':
        return {
          kind: 'response',
          httpCode: attempt.httpCode,
          response: attempt.response,
          durationMs: elapsed(),
          retryAfterMs: attempt.retryAfterMs,
        };
      case 'invalid':
        return { kind: 'refused', error: attempt.error, durationMs: elapsed(), permanent: true };
      case 'stale-socket':
      case 'error':
        return {
          kind: 'unreachable',
          error: attempt.error,
          durationMs: elapsed(),
          permanent: false,
        };
    }
  }

  /** Closes pooled connections. In-flight requests are aborted. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private parseTarget(rawUrl: string): Target {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return { ok: false, error: `Invalid URL: ${JSON.stringify(rawUrl)}` };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return { ok: false, error: `Refused: unsupported URL scheme ${url.protocol}` };
    }
    const secure = url.protocol === 'https:';
    if (!secure && !this.allowPrivateNetworks) {
      return { ok: false, error: 'Refused: plain http is not allowed, use https' };
    }
    const host = url.hostname;
    const hostname = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (hostname === '') {
      return { ok: false, error: `Invalid URL: ${JSON.stringify(rawUrl)} has no host` };
    }
    const ip = parseIpLiteral(host);
    const literal = ip === null ? null : { address: ip.address, family: ip.family };
    return { ok: true, url, secure, hostname, literal };
  }

  private async resolveWithin(
    hostname: string,
    deadline: number,
  ): Promise<{ ok: true; addresses: ResolvedAddress[] } | { ok: false; error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ ok: false; error: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, error: this.timeoutText() }),
        Math.max(0, deadline - performance.now()),
      );
    });
    // Via then(): a resolver that throws synchronously is a failed lookup too, not a rejection.
    const lookup = Promise.resolve(hostname)
      .then((name) => this.resolve(name))
      .then(
        (addresses) => {
          const usable = addresses.filter((a) => parseIpLiteral(a.address) !== null);
          if (usable.length === 0 || usable.length !== addresses.length) {
            return {
              ok: false as const,
              error:
                usable.length === 0
                  ? `DNS lookup failed: no addresses for ${hostname}`
                  : `DNS lookup failed: unusable address for ${hostname}`,
            };
          }
          return { ok: true as const, addresses: usable };
        },
        (error: unknown) => ({
          ok: false as const,
          error: `DNS lookup failed: ${errorText(error)}`,
        }),
      );
    try {
      return await Promise.race([lookup, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private post(
    target: Extract<Target, { ok: true }>,
    addresses: ResolvedAddress[],
    request: SendRequest,
    deadline: number,
  ): Promise<PostResult> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name.toLowerCase()] = value;
    }
    headers['content-type'] = 'application/json';
    headers['user-agent'] = this.userAgent;
    headers['content-length'] = String(Buffer.byteLength(request.body, 'utf8'));
    const { url } = target;

    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      return Promise.resolve({ kind: 'error', error: this.timeoutText() });
    }

    return new Promise<PostResult>((resolve) => {
      const options: https.RequestOptions = {
        method: 'POST',
        protocol: url.protocol,
        hostname: target.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers,
        agent: target.secure ? this.httpsAgent : this.httpAgent,
        // Connect to the addresses we checked, never to a fresh resolution (no DNS rebinding).
        // The request keeps the hostname, so SNI, certificate checks and Host use it.
        lookup: pinnedLookup(addresses),
      };
      if (url.username !== '' || url.password !== '') {
        options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      }

      let req: http.ClientRequest;
      try {
        req = (target.secure ? https : http).request(options);
      } catch (error) {
        // e.g. a header value with a newline: the request can never be sent as it is.
        resolve({ kind: 'invalid', error: `Invalid request: ${errorText(error)}` });
        return;
      }
      let settled = false;
      const timer = setTimeout(() => {
        finish({ kind: 'error', error: this.timeoutText() });
        req.destroy();
      }, remaining);
      const finish = (result: PostResult): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };

      req.on('error', (error: NodeJS.ErrnoException) => {
        const stale =
          (req.reusedSocket || isAcceptedConnection(req.socket)) &&
          (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        finish({ kind: stale ? 'stale-socket' : 'error', error: errorText(error) });
      });
      req.once('finish', () => {
        if (req.reusedSocket || target.secure || isAcceptedConnection(req.socket)) {
          request.onSentInOrder?.();
        }
      });
      req.on('response', (res: IncomingMessage) => {
        this.readResponse(res, finish);
      });
      req.end(request.body);
    });
  }

  private readResponse(res: IncomingMessage, finish: (result: PostResult) => void): void {
    const httpCode = res.statusCode ?? 0;
    const retryAfterMs =
      httpCode === 429 || httpCode === 503
        ? parseRetryAfter(headerValue(res.headers['retry-after']), new Date())
        : null;
    const decoder = new StringDecoder('utf8');
    let text = '';
    let enough = false;
    let discarded = 0;
    const done = (): void =>
      finish({
        kind: 'response',
        httpCode,
        response: truncate(text + (enough ? '' : decoder.end()), this.maxResponseChars),
        retryAfterMs,
      });

    res.on('data', (chunk: Buffer) => {
      if (!enough) {
        text += decoder.write(chunk);
        if (text.length >= this.maxResponseChars) {
          enough = true;
        }
        return;
      }
      discarded += chunk.length;
      if (discarded > DRAIN_LIMIT_BYTES) {
        // We have all we keep and the body goes on: stop downloading it.
        done();
        res.destroy();
      }
    });
    res.on('end', done);
    // The body was cut short (reset mid-response): the receiver did answer with a status, so
    // report it with what arrived.
    res.on('error', done);
    res.on('close', done);
  }

  private timeoutText(): string {
    return `Timed out after ${this.timeoutMs} ms`;
  }
}

type PostResult =
  | { kind: 'response'; httpCode: number; response: string; retryAfterMs: number | null }
  | { kind: 'error'; error: string }
  | { kind: 'stale-socket'; error: string }
  | { kind: 'invalid'; error: string };

function defaultResolve(hostname: string): Promise<ResolvedAddress[]> {
  return dnsPromises
    .lookup(hostname, { all: true, verbatim: true })
    .then((list) =>
      list.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 })),
    );
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A `lookup` for net.connect that answers with pre-checked addresses only. */
function pinnedLookup(
  addresses: readonly ResolvedAddress[],
): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (_hostname, options, callback) => {
    const wanted =
      options.family === 4 || options.family === 6
        ? addresses.filter((a) => a.family === options.family)
        : addresses;
    const candidates = wanted.length > 0 ? wanted : addresses;
    process.nextTick(() => {
      if (options.all === true) {
        callback(
          null,
          candidates.map((a) => ({ address: a.address, family: a.family })),
        );
      } else {
        callback(null, candidates[0].address, candidates[0].family);
      }
    });
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Cuts to at most `max` UTF-16 units without leaving half of a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    end -= 1;
  }
  return text.slice(0, end);
}

function errorText(error: unknown): string {
  // Duck-typed rather than `instanceof`: errors may come from another realm (e.g. under jest).
  if (typeof error === 'object' && error !== null) {
    const { errors, message, code, name } = error as {
      errors?: unknown;
      message?: unknown;
      code?: unknown;
      name?: unknown;
    };
    if (Array.isArray(errors) && errors.length > 0) {
      // Happy eyeballs tried several addresses (AggregateError): report each failure.
      return errors.map((e: unknown) => errorText(e)).join('; ');
    }
    if (typeof message === 'string' && message !== '') {
      return message;
    }
    if (typeof code === 'string') {
      return code;
    }
    if (typeof name === 'string') {
      return name;
    }
  }
  return String(error);
}
