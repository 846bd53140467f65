/**
 * What may be shown of an EventStoreDB connection string (`esdb://user:password@host:2113?tls=false`,
 * `esdb+discover://…`, several comma-separated hosts): its scheme and hosts, never its credentials.
 */

interface ConnectionParts {
  scheme: string;
  /** `user:password` as written (percent-encoded), when there is one. */
  userInfo: string | undefined;
  hosts: string;
}

const SCHEME = /^([^:/?#@]+):\/\//;

/**
 * Splits a connection string. The user info ends at the last `@`, so a password with a stray,
 * unencoded `@`, `/` or `?` still counts as credentials: masked too much rather than shown.
 */
function split(connectionString: string): ConnectionParts | undefined {
  const value = connectionString.trim();
  const scheme = SCHEME.exec(value);
  if (!scheme) return undefined;
  const rest = value.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const authority = at >= 0 ? rest.slice(at + 1) : rest;
  const end = authority.search(/[/?]/);
  return {
    scheme: scheme[1],
    userInfo: at >= 0 ? rest.slice(0, at) : undefined,
    hosts: end >= 0 ? authority.slice(0, end) : authority,
  };
}

/** `esdb://host:2113,other:2113`: the scheme and hosts only, for logs and error messages. */
export function describeTarget(connectionString: string): string {
  const parts = split(connectionString);
  return parts ? `${parts.scheme}://${parts.hosts}` : '(an unparseable connection string)';
}

/** The credentials in a connection string, as written and decoded, longest first. */
export function connectionSecrets(connectionString: string): string[] {
  const userInfo = split(connectionString)?.userInfo;
  if (!userInfo) return [];
  const colon = userInfo.indexOf(':');
  const password = colon >= 0 ? userInfo.slice(colon + 1) : userInfo;
  const secrets = new Set([userInfo, password, decode(password)]);
  return [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length);
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * A message safe to show: the connection string replaced by its description, then every
 * credential by `***` (a client error may quote the string, or a part of it it failed to parse).
 */
export function redact(message: string, connectionString: string): string {
  const raw = connectionString.trim();
  // The client quotes the string trimmed and without trailing slashes.
  const quoted = [raw, raw.replace(/\/+$/, '')].filter((s) => s !== '');
  const withoutString = quoted.reduce(
    (text, s) => text.split(s).join(describeTarget(connectionString)),
    message,
  );
  return connectionSecrets(connectionString).reduce(
    (text, secret) => text.split(secret).join('***'),
    withoutString,
  );
}
