import { isGlobalAddress, parseIpLiteral } from './global-address';

// Each special-purpose range is probed at both ends and just outside, so an off-by-one in a
// prefix length shows up as a failure rather than a silently wider or narrower block.
const IPV4_CASES: readonly [string, boolean][] = [
  ['0.0.0.0', false],
  ['0.255.255.255', false],
  ['1.0.0.0', true],
  ['9.255.255.255', true],
  ['10.0.0.0', false],
  ['10.0.0.1', false],
  ['10.255.255.255', false],
  ['11.0.0.0', true],
  ['100.63.255.255', true],
  ['100.64.0.0', false],
  ['100.64.0.1', false],
  ['100.127.255.255', false],
  ['100.128.0.0', true],
  ['126.255.255.255', true],
  ['127.0.0.0', false],
  ['127.0.0.1', false],
  ['127.255.255.255', false],
  ['128.0.0.0', true],
  ['169.253.255.255', true],
  ['169.254.0.0', false],
  ['169.254.169.254', false],
  ['169.254.255.255', false],
  ['169.255.0.0', true],
  ['172.15.255.255', true],
  ['172.16.0.0', false],
  ['172.16.0.1', false],
  ['172.31.255.255', false],
  ['172.32.0.0', true],
  ['191.255.255.255', true],
  ['192.0.0.0', false],
  ['192.0.0.9', false],
  ['192.0.0.255', false],
  ['192.0.1.0', true],
  ['192.0.2.0', false],
  ['192.0.2.255', false],
  ['192.0.3.0', true],
  ['192.88.98.255', true],
  ['192.88.99.0', false],
  ['192.88.99.255', false],
  ['192.88.100.0', true],
  ['192.167.255.255', true],
  ['192.168.0.0', false],
  ['192.168.1.1', false],
  ['192.168.255.255', false],
  ['192.169.0.0', true],
  ['198.17.255.255', true],
  ['198.18.0.0', false],
  ['198.19.255.255', false],
  ['198.20.0.0', true],
  ['198.51.99.255', true],
  ['198.51.100.0', false],
  ['198.51.100.255', false],
  ['198.51.101.0', true],
  ['203.0.112.255', true],
  ['203.0.113.0', false],
  ['203.0.113.255', false],
  ['203.0.114.0', true],
  ['223.255.255.255', true],
  ['224.0.0.0', false],
  ['224.0.0.251', false],
  ['239.255.255.255', false],
  ['240.0.0.0', false],
  ['255.255.255.254', false],
  ['255.255.255.255', false],
  ['1.1.1.1', true],
  ['8.8.8.8', true],
  ['9.9.9.9', true],
  ['52.95.110.1', true],
];

describe('isGlobalAddress – IPv4', () => {
  it.each(IPV4_CASES)('%s → %s', (ip, expected) => {
    expect(isGlobalAddress(ip)).toBe(expected);
  });
});

describe('isGlobalAddress – IPv6', () => {
  it.each<[string, boolean]>([
    // Unspecified, loopback and the deprecated IPv4-compatible block.
    ['::', false],
    ['::1', false],
    ['0:0:0:0:0:0:0:1', false],
    ['0000:0000:0000:0000:0000:0000:0000:0001', false],
    ['::127.0.0.1', false],
    ['::7f00:1', false],
    ['::8.8.8.8', false],
    ['::808:808', false],
    // Outside 2000::/3 and therefore excluded by the allow-list.
    ['fc00::1', false],
    ['fd00::1', false],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['fe80::1', false],
    ['febf:ffff::1', false],
    ['fec0::1', false],
    ['ff02::1', false],
    ['ff0e::1', false],
    ['100::1', false],
    ['5f00::1', false],
    ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['4000::1', false],
    ['::ffff:0:a00:1', false],
    // Special-purpose blocks inside 2000::/3.
    ['2001::1', false],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false],
    ['2001:2::1', false],
    ['2001:10::1', false],
    ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['2001:db8::1', false],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['3fff::1', false],
    ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    // Global unicast, including addresses just outside the carve-outs.
    ['2000::1', true],
    ['2001:200::1', true],
    ['2001:db7:ffff::1', true],
    ['2001:db9::1', true],
    ['2001:4860:4860::8888', true],
    ['2606:4700::1111', true],
    ['2606:4700:4700::1111', true],
    ['2606:4700:0000:0000:0000:0000:0000:1111', true],
    ['2606:4700::ABCD', true],
    ['2a00:1450:4001:80b::200e', true],
    ['3ffe::1', true],
    ['3fff:1000::1', true],
    ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
  ])('%s → %s', (ip, expected) => {
    expect(isGlobalAddress(ip)).toBe(expected);
  });

  it.each<[string, boolean]>([
    // IPv4-mapped: the connection goes to the embedded IPv4 host.
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['0:0:0:0:0:ffff:7f00:1', false],
    ['::FFFF:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:0.0.0.0', false],
    ['::ffff:8.8.8.8', true],
    ['::ffff:808:808', true],
    // NAT64 well-known prefix 64:ff9b::/96.
    ['64:ff9b::a00:1', false],
    ['64:ff9b::10.0.0.1', false],
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::a9fe:a9fe', false],
    ['64:ff9b::8.8.8.8', true],
    ['64:ff9b::808:808', true],
    // Inside 64:ff9b::/32 but not the /96: not a translation address, and outside 2000::/3.
    ['64:ff9b:0:0:1::808:808', false],
    // Local-use NAT64 64:ff9b:1::/48 is network-specific and refused regardless of payload.
    ['64:ff9b:1::a00:1', false],
    ['64:ff9b:1::808:808', false],
    ['64:ff9b:1:a00:1::', false],
    // 6to4 2002::/16 carries the IPv4 host in bits 16..48.
    ['2002:7f00:1::', false],
    ['2002:7f00:0001::1', false],
    ['2002:a00:1::1', false],
    ['2002:c0a8:101::1', false],
    ['2002:a9fe:a9fe::', false],
    ['2002:0:0::1', false],
    ['2002:808:808::1', true],
    ['2002:101:101:1::1', true],
  ])('embedded IPv4 %s → %s', (ip, expected) => {
    expect(isGlobalAddress(ip)).toBe(expected);
  });

  it.each<[string, boolean]>([
    ['[::1]', false],
    ['[fe80::1]', false],
    ['[::ffff:127.0.0.1]', false],
    ['[2606:4700::1111]', true],
    ['[2001:4860:4860::8888]', true],
  ])('accepts URL-style brackets: %s → %s', (ip, expected) => {
    expect(isGlobalAddress(ip)).toBe(expected);
  });

  it.each(['fe80::1%eth0', 'fe80::1%25eth0', '[fe80::1%eth0]', '2606:4700::1111%eth0', '::1%lo'])(
    'treats zone-scoped %s as non-global',
    (ip) => {
      expect(isGlobalAddress(ip)).toBe(false);
    },
  );
});

describe('isGlobalAddress – not an IP', () => {
  it.each([
    '',
    ' ',
    'example.com',
    'localhost',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '010.0.0.1',
    '0x7f.0.0.1',
    '2130706433',
    ' 8.8.8.8',
    '8.8.8.8 ',
    '8.8.8.8%eth0',
    '[8.8.8.8]',
    '[::1',
    '::1]',
    '[[::1]]',
    ':::',
    '2606:4700::1111::1',
    '1:2:3:4:5:6:7:8:9',
    'gggg::1',
    'fe80::1%',
  ])('%j → false', (input) => {
    expect(isGlobalAddress(input)).toBe(false);
  });
});

describe('isGlobalAddress – embedded IPv4 always agrees with the bare IPv4', () => {
  // Deterministic pseudo-random sample plus every boundary above, so a parsing slip in any byte
  // position of the embedding shows up as a disagreement.
  const sample: string[] = IPV4_CASES.map(([ip]) => ip);
  let seed = 0x2545f491;
  for (let i = 0; i < 200; i += 1) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    sample.push([seed >>> 24, (seed >>> 16) & 0xff, (seed >>> 8) & 0xff, seed & 0xff].join('.'));
  }

  const hex = (ip: string): [string, string] => {
    const [a, b, c, d] = ip.split('.').map(Number);
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  };

  it.each(sample)('%s', (v4) => {
    const expected = isGlobalAddress(v4);
    const [hi, lo] = hex(v4);
    expect(isGlobalAddress(`::ffff:${v4}`)).toBe(expected);
    expect(isGlobalAddress(`::ffff:${hi}:${lo}`)).toBe(expected);
    expect(isGlobalAddress(`64:ff9b::${v4}`)).toBe(expected);
    expect(isGlobalAddress(`64:ff9b::${hi}:${lo}`)).toBe(expected);
    expect(isGlobalAddress(`2002:${hi}:${lo}::1`)).toBe(expected);
    expect(isGlobalAddress(`2002:${hi}:${lo}:ffff:ffff:ffff:ffff:ffff`)).toBe(expected);
    // IPv4-compatible is refused whatever it embeds.
    expect(isGlobalAddress(`::${v4}`)).toBe(false);
  });

  it('the sample covers both outcomes', () => {
    const outcomes = new Set(sample.map((ip) => isGlobalAddress(ip)));
    expect(outcomes).toEqual(new Set([true, false]));
  });
});

describe('parseIpLiteral', () => {
  it.each<[string, ReturnType<typeof parseIpLiteral>]>([
    ['8.8.8.8', { family: 4, address: '8.8.8.8' }],
    ['127.0.0.1', { family: 4, address: '127.0.0.1' }],
    ['::1', { family: 6, address: '::1' }],
    ['[::1]', { family: 6, address: '::1' }],
    ['[2606:4700::1111]', { family: 6, address: '2606:4700::1111' }],
    ['::ffff:127.0.0.1', { family: 6, address: '::ffff:127.0.0.1' }],
    ['fe80::1%eth0', { family: 6, address: 'fe80::1%eth0' }],
    ['[8.8.8.8]', null],
    ['example.com', null],
    ['localhost', null],
    ['2130706433', null],
    ['0x7f.1', null],
    ['[::1', null],
    ['', null],
  ])('%j', (input, expected) => {
    expect(parseIpLiteral(input)).toEqual(expected);
  });
});
