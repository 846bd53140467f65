/**
 * Connection strings of the production engines (`esdb://…`, `mongodb://…`): checked at start with
 * messages that name the mistake, and never shown with their credentials, whether in a
 * configuration error, a log line or a driver's error message. Both adapters use this module.
 */

export type Checked = { value: string } | { error: string };

interface Parts {
  /** Lower-cased, e.g. `mongodb+srv`. */
  scheme: string;
  /** `user:password` (still percent-encoded), or undefined when there are none. */
  userInfo: string | undefined;
  /** The comma-separated host list, e.g. `a:27017,b:27017`. */
  hosts: string;
  /** Whatever follows the hosts: `/database?options`. */
  rest: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Splits `scheme://[userinfo@]hosts[/path][?query]`, surrounding whitespace ignored. The user info
 * ends at the last `@`, so a password with a stray `@`, `/` or `?` is still counted as credentials
 * (and masked), never shown as a host.
 */
function split(connectionString: string): Parts | undefined {
  const value = connectionString.trim();
  const scheme = SCHEME.exec(value);
  if (!scheme) return undefined;
  const afterScheme = value.slice(scheme[0].length);
  const at = afterScheme.lastIndexOf('@');
  const userInfo = at >= 0 ? afterScheme.slice(0, at) : undefined;
  const authority = at >= 0 ? afterScheme.slice(at + 1) : afterScheme;
  const end = authority.search(/[/?#]/);
  return {
    scheme: scheme[1].toLowerCase(),
    userInfo,
    hosts: end >= 0 ? authority.slice(0, end) : authority,
    rest: end >= 0 ? authority.slice(end) : '',
  };
}

/**
 * The connection string with its password (or a user info without a colon, which may be a
 * token) replaced by `***`, for a configuration error that quotes a bad value. A value without a
 * scheme has everything up to its last `@` masked.
 */
export function maskCredentials(value: string): string {
  const parts = split(value);
  if (!parts) {
    const at = value.lastIndexOf('@');
    return at >= 0 ? `***${value.slice(at)}` : value;
  }
  if (parts.userInfo === undefined) return value.trim();
  const colon = parts.userInfo.indexOf(':');
  const user = colon >= 0 ? `${parts.userInfo.slice(0, colon)}:***` : '***';
  return `${parts.scheme}://${user}@${parts.hosts}${parts.rest}`;
}

/**
 * `esdb://host:2113,other:2113`: the scheme and hosts only, for logs and error messages. Neither
 * the credentials nor the path and options (which may hold secrets too) are shown.
 */
export function connectionTarget(connectionString: string): string {
  const parts = split(connectionString);
  return parts ? `${parts.scheme}://${parts.hosts}` : '(an unparseable connection string)';
}

/** The credentials in a connection string, as written and percent-decoded, longest first. */
function credentialsIn(connectionString: string): string[] {
  const value = connectionString.trim();
  const parts = split(value);
  const userInfo = parts ? parts.userInfo : value.slice(0, Math.max(value.lastIndexOf('@'), 0));
  if (!userInfo) return [];
  const colon = userInfo.indexOf(':');
  // Without a colon, the whole user info may be a token.
  const password = colon >= 0 ? userInfo.slice(colon + 1) : userInfo;
  const secrets = new Set([userInfo, decode(userInfo), password, decode(password)]);
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
 * A message safe to show, whatever a driver put in it: the connection string replaced by its
 * target (see connectionTarget), then every credential, raw or percent-decoded, by `***` (an
 * error may quote the string, or the part of it it failed to parse).
 */
export function scrubCredentials(message: string, connectionString: string): string {
  const raw = connectionString.trim();
  // Drivers quote the string trimmed, sometimes without its trailing slashes.
  const quoted = [raw, raw.replace(/\/+$/, '')].filter((s) => s !== '');
  const target = connectionTarget(connectionString);
  const withoutString = quoted.reduce((text, s) => text.split(s).join(target), message);
  return credentialsIn(connectionString).reduce(
    (text, secret) => text.split(secret).join('***'),
    withoutString,
  );
}

/** Characters that must be percent-encoded inside a user name or password. */
const UNESCAPED_IN_USER_INFO = /[@/?#[\]]/;

function checkUserInfo(userInfo: string | undefined): string | undefined {
  if (userInfo === undefined) return undefined;
  const colon = userInfo.indexOf(':');
  const user = colon >= 0 ? userInfo.slice(0, colon) : userInfo;
  const password = colon >= 0 ? userInfo.slice(colon + 1) : '';
  if (UNESCAPED_IN_USER_INFO.test(user) || UNESCAPED_IN_USER_INFO.test(password)) {
    return 'the user name and password must be percent-encoded (e.g. "@" as %40, "/" as %2F)';
  }
  if (password.includes(':')) return 'a ":" in the password must be percent-encoded as %3A';
  return undefined;
}

/** `host[:port]`, with a port between 1 and 65535 when given; brackets for IPv6 literals. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.%-]+)(?::(\d{1,5}))?$/;

function checkHosts(hosts: string, scheme: string): string | undefined {
  if (hosts === '') return `no host after ${scheme}://`;
  for (const host of hosts.split(',')) {
    const match = HOST.exec(host);
    if (!match) return `"${host}" is not a host name or host:port`;
    const port = match[1] === undefined ? undefined : Number(match[1]);
    if (port !== undefined && (port < 1 || port > 65535)) {
      return `port ${port} of "${host}" is not between 1 and 65535`;
    }
  }
  return undefined;
}

/**
 * A connection string of one of `schemes` (`expected` says which otherwise), with a well-formed
 * user info and host list, and whatever else `problemOf` finds wrong with its parts.
 */
function checkConnectionString(
  value: string,
  schemes: readonly string[],
  expected: string,
  problemOf: (parts: Parts) => string | undefined,
): Checked {
  const parts = split(value);
  if (!parts || !schemes.includes(parts.scheme)) return { error: `expected ${expected}` };
  const problem =
    checkUserInfo(parts.userInfo) ?? checkHosts(parts.hosts, parts.scheme) ?? problemOf(parts);
  return problem ? { error: problem } : { value };
}

/** A MongoDB connection string: `mongodb://` or `mongodb+srv://` with at least one host. */
export function checkMongoUri(value: string): Checked {
  return checkConnectionString(
    value,
    ['mongodb', 'mongodb+srv'],
    'a mongodb:// or mongodb+srv:// connection string',
    ({ scheme, hosts }) =>
      scheme === 'mongodb+srv' && /[,:]/.test(hosts)
        ? 'a mongodb+srv:// connection string names exactly one host and no port'
        : undefined,
  );
}

/** An EventStoreDB connection string: `esdb://` or `esdb+discover://` with at least one host. */
export function checkEventStoreConnectionString(value: string): Checked {
  return checkConnectionString(
    value,
    ['esdb', 'esdb+discover'],
    'an esdb:// or esdb+discover:// connection string',
    ({ userInfo, rest }) => {
      if (userInfo !== undefined && !/^[^:]+:.+$/.test(userInfo)) {
        return 'credentials must be given as user:password@';
      }
      if (rest !== '' && !/^\/?(\?[^=&?]+=[^&?]+(&[^=&?]+=[^&?]+)*)?$/.test(rest)) {
        return 'options must follow the hosts as ?key=value&key=value (e.g. ?tls=false)';
      }
      // The event store relies on failed appends throwing: with this option the 6.x client
      // reports conflicts as results, and with a wrong current revision.
      if (/[?&]throwOnAppendFailure=false(&|$)/i.test(rest)) {
        return 'throwOnAppendFailure=false is not supported: the event store needs failed appends to throw';
      }
      return undefined;
    },
  );
}

/**
 * An error's message on one line, scrubbed (see scrubCredentials) of every given connection
 * string's credentials: for a start-up error or a readiness reason.
 */
export function safeErrorLine(error: unknown, connectionStrings: readonly string[]): string {
  const message = error instanceof Error ? error.message : String(error);
  return connectionStrings
    .reduce((text, connectionString) => scrubCredentials(text, connectionString), message)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
