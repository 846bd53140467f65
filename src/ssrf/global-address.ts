import { isIP } from 'node:net';

/**
 * SSRF address classification.
 *
 * This is deliberately an allow-list: an address is "global" only if it falls in space that is
 * actually routed on the public internet and is not carved out by an IANA special-purpose
 * registration. Anything we do not recognise is treated as non-global, so new or exotic special
 * ranges fail closed instead of silently becoming reachable.
 */

export interface IpLiteral {
  family: 4 | 6;
  /** The address text without brackets; IPv6 keeps any zone id (`fe80::1%eth0`). */
  address: string;
}

/**
 * Recognises a bare IP literal. Brackets are accepted around IPv6 only, matching URL host syntax,
 * so `[1.2.3.4]` is not an IP literal. Only strict dotted-decimal IPv4 is recognised here: legacy
 * forms such as `0x7f.1` or `2130706433` are the URL parser's job, and anything ambiguous is
 * reported as "not an IP" which callers must treat as untrusted.
 */
export function parseIpLiteral(host: string): IpLiteral | null {
  let text = host;
  const bracketed = text.startsWith('[') && text.endsWith(']');
  if (bracketed) {
    text = text.slice(1, -1);
  }
  const family = isIP(text);
  if (family === 6) {
    return { family: 6, address: text };
  }
  if (family === 4 && !bracketed) {
    return { family: 4, address: text };
  }
  return null;
}

/** True only for globally routable unicast addresses (IPv4 or IPv6 text, brackets optional). */
export function isGlobalAddress(ip: string): boolean {
  const literal = parseIpLiteral(ip);
  if (literal === null) {
    return false;
  }
  if (literal.family === 4) {
    return isGlobalIpv4(parseIpv4(literal.address));
  }
  // A zone id only has meaning for link-local/site-scoped destinations, which are never global;
  // rejecting outright also avoids reasoning about what the OS does with an unusual scope.
  if (literal.address.includes('%')) {
    return false;
  }
  return isGlobalIpv6(parseIpv6(literal.address));
}

/** Inclusive-prefix IPv4 range expressed as the network's 32-bit value and prefix length. */
interface Ipv4Range {
  network: number;
  prefix: number;
}

function v4Range(cidr: string): Ipv4Range {
  const [address, prefix] = cidr.split('/');
  return { network: ipv4ToInt(parseIpv4(address)), prefix: Number(prefix) };
}

// IANA IPv4 Special-Purpose Address Registry plus multicast/reserved space. Some entries (e.g.
// 192.0.0.9/32) are individually marked globally reachable, but no webhook endpoint lives there,
// so the whole block is refused for simplicity.
const NON_GLOBAL_IPV4: readonly Ipv4Range[] = [
  '0.0.0.0/8', // "this network"; 0.0.0.0 reaches the local host on many stacks
  '10.0.0.0/8', // RFC 1918 private
  '100.64.0.0/10', // RFC 6598 carrier-grade NAT shared space
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, includes cloud metadata 169.254.169.254
  '172.16.0.0/12', // RFC 1918 private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1 documentation
  '192.88.99.0/24', // deprecated 6to4 relay anycast
  '192.168.0.0/16', // RFC 1918 private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2 documentation
  '203.0.113.0/24', // TEST-NET-3 documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved for future use; also covers 255.255.255.255 broadcast
].map(v4Range);

function isGlobalIpv4(bytes: readonly number[]): boolean {
  const value = ipv4ToInt(bytes);
  return !NON_GLOBAL_IPV4.some((range) => inIpv4Range(value, range));
}

function inIpv4Range(value: number, { network, prefix }: Ipv4Range): boolean {
  // `>>> 0` keeps the arithmetic unsigned; a /0 mask would shift by 32 which JS treats as 0.
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (value & mask) >>> 0 === (network & mask) >>> 0;
}

function ipv4ToInt(bytes: readonly number[]): number {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

/** Caller must have validated the text with `net.isIPv4`. */
function parseIpv4(text: string): number[] {
  return text.split('.').map(Number);
}

/**
 * Expands validated IPv6 text (no zone id) into 16 bytes. Handles `::` compression and a trailing
 * dotted IPv4 tail. Relies on `net.isIPv6` having accepted the text already.
 */
function parseIpv6(text: string): number[] {
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap === -1) {
    groups = ipv6Groups(text);
  } else {
    const head = ipv6Groups(text.slice(0, gap));
    const tail = ipv6Groups(text.slice(gap + 2));
    const zeros = new Array<number>(8 - head.length - tail.length).fill(0);
    groups = [...head, ...zeros, ...tail];
  }
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}

/** 16-bit groups for one side of a `::`; a dotted IPv4 tail contributes two groups. */
function ipv6Groups(text: string): number[] {
  if (text === '') {
    return [];
  }
  return text.split(':').flatMap((part) => {
    if (part.includes('.')) {
      const [a, b, c, d] = parseIpv4(part);
      return [(a << 8) | b, (c << 8) | d];
    }
    return [parseInt(part, 16)];
  });
}

function hasPrefix(bytes: readonly number[], prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

const ZERO_80 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const IPV4_MAPPED = [...ZERO_80, 0xff, 0xff]; // ::ffff:0:0/96
const IPV4_COMPATIBLE = [...ZERO_80, 0, 0]; // ::/96, also covers :: and ::1
const NAT64_WELL_KNOWN = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]; // 64:ff9b::/96
const SIX_TO_FOUR = [0x20, 0x02]; // 2002::/16

function isGlobalIpv6(bytes: readonly number[]): boolean {
  // Translation/tunnelling formats deliver to the embedded IPv4 host, so that host decides.
  // The local-use NAT64 prefix 64:ff9b:1::/48 is deliberately NOT unwrapped: it is network-specific
  // (RFC 8215), and with the shorter prefixes it permits the IPv4 bits sit elsewhere (RFC 6052),
  // so reading the last 32 bits could be bypassed. It falls outside 2000::/3 and is refused below.
  if (hasPrefix(bytes, IPV4_MAPPED) || hasPrefix(bytes, NAT64_WELL_KNOWN)) {
    return isGlobalIpv4(bytes.slice(12, 16));
  }
  if (hasPrefix(bytes, SIX_TO_FOUR)) {
    return isGlobalIpv4(bytes.slice(2, 6));
  }
  // IPv4-compatible addresses are deprecated (RFC 4291) and some stacks still route them to the
  // embedded IPv4 host; there is no legitimate use, so refuse them along with :: and ::1.
  if (hasPrefix(bytes, IPV4_COMPATIBLE)) {
    return false;
  }
  // Only 2000::/3 is allocated as global unicast; this single check excludes ::/8, fc00::/7
  // (unique local), fe80::/10 (link-local), ff00::/8 (multicast) and all unallocated space.
  if ((bytes[0] & 0xe0) !== 0x20) {
    return false;
  }
  // 2001::/23 IETF protocol assignments (Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID...).
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] < 0x02) {
    return false;
  }
  // 2001:db8::/32 documentation.
  if (hasPrefix(bytes, [0x20, 0x01, 0x0d, 0xb8])) {
    return false;
  }
  // 3fff::/20 documentation (RFC 9637).
  if (bytes[0] === 0x3f && bytes[1] === 0xff && bytes[2] < 0x10) {
    return false;
  }
  return true;
}
