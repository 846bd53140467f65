import { isGlobalAddress, parseIpLiteral } from './global-address';

export interface WebhookUrlPolicy {
  /**
   * Self-hosted/dev deployments deliver to services on the same network; this lifts the
   * loopback/private-address checks and also permits plain `http:`.
   */
  allowPrivateNetworks: boolean;
}

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** The de-facto URL length limit browsers and many proxies still enforce. */
export const MAX_WEBHOOK_URL_LENGTH = 2083;

// C0 controls and DEL. The WHATWG parser silently deletes tab/CR/LF and percent-encodes the rest,
// so accepting them would store a URL different from what the caller believes they sent.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

// `scheme://` followed by nothing that could be a host: lets us explain why parsing failed.
const MISSING_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?::\d*)?(?:[/?#]|$)/i;

/**
 * Validates and canonicalises a webhook endpoint URL at create/update time.
 *
 * This is only the first SSRF line of defence: hostnames are not resolved here, so the delivery
 * path must still check the addresses it actually connects to (DNS can change after creation).
 * What this does guarantee is that literal addresses, in every spelling the WHATWG parser
 * accepts, are classified after the parser has normalised them, so `0x7f.1`, `2130706433` or
 * `[::ffff:127.0.0.1]` cannot slip past a string comparison.
 */
export function normaliseWebhookUrl(input: string, policy: WebhookUrlPolicy): WebhookUrlCheck {
  // Request bodies are untyped at runtime even though the signature says string.
  if (typeof input !== 'string') {
    return fail('URL must be a string');
  }
  const trimmed = input.trim();
  if (trimmed === '') {
    return fail('URL must not be empty');
  }
  if (trimmed.length > MAX_WEBHOOK_URL_LENGTH) {
    return fail(
      `URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters long (got ${trimmed.length})`,
    );
  }
  if (CONTROL_CHARS.test(trimmed)) {
    return fail('URL must not contain control characters such as tabs or line breaks');
  }

  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return fail(
      MISSING_HOST.test(trimmed) ? 'URL must include a host' : 'URL is not a valid absolute URL',
    );
  }

  const allowedSchemes = policy.allowPrivateNetworks ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(url.protocol)) {
    const expected = policy.allowPrivateNetworks ? 'http or https' : 'https';
    return fail(`URL scheme must be ${expected} (got ${url.protocol.slice(0, -1)})`);
  }

  // Unreachable for http(s) with today's parser, but cheap insurance if the scheme list grows.
  if (url.hostname === '') {
    return fail('URL must include a host');
  }

  if (!policy.allowPrivateNetworks) {
    const hostReason = checkPublicHost(url.hostname);
    if (hostReason !== null) {
      return fail(hostReason);
    }
  }

  // Punycode and percent-encoding can grow the URL, and the limit is about what we store and send.
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
    return fail(
      `URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters long once normalised ` +
        `(got ${url.href.length})`,
    );
  }

  return { ok: true, url: url.href };
}

/** Returns a rejection reason, or null when the (already parser-normalised) host may be public. */
function checkPublicHost(hostname: string): string | null {
  // A trailing dot is the fully-qualified spelling of the same name.
  const name = hostname.replace(/\.+$/, '');
  // RFC 6761: resolvers may answer any *.localhost with loopback without asking DNS.
  if (name === 'localhost' || name.endsWith('.localhost')) {
    return 'URL host must not be localhost';
  }
  const literal = parseIpLiteral(hostname);
  if (literal !== null && !isGlobalAddress(literal.address)) {
    return `URL host ${hostname} is not a publicly routable address`;
  }
  return null;
}

function fail(reason: string): WebhookUrlCheck {
  return { ok: false, reason };
}
