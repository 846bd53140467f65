import {
  MAX_WEBHOOK_URL_LENGTH,
  normaliseWebhookUrl,
  WebhookUrlCheck,
  WebhookUrlPolicy,
} from './webhook-url';

const strict: WebhookUrlPolicy = { allowPrivateNetworks: false };
const permissive: WebhookUrlPolicy = { allowPrivateNetworks: true };

const ok = (url: string): WebhookUrlCheck => ({ ok: true, url });
const rejected = (reason: string): WebhookUrlCheck => ({ ok: false, reason });

const NOT_LOCALHOST = 'URL host must not be localhost';
const notPublic = (host: string): string => `URL host ${host} is not a publicly routable address`;

describe('normaliseWebhookUrl – accepted and normalised', () => {
  it.each<[string, string]>([
    ['https://example.com/hook', 'https://example.com/hook'],
    ['  https://Example.COM/Path  ', 'https://example.com/Path'],
    ['\thttps://example.com/hook\n', 'https://example.com/hook'],
    ['HTTPS://EXAMPLE.COM', 'https://example.com/'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com:443/hook', 'https://example.com/hook'],
    ['https://example.com:8443/hook?x=1#frag', 'https://example.com:8443/hook?x=1#frag'],
    ['https://example.com/a b', 'https://example.com/a%20b'],
    ['https://bücher.example/', 'https://xn--bcher-kva.example/'],
    ['https://BÜCHER.example/hook', 'https://xn--bcher-kva.example/hook'],
    ['https://example.com./hook', 'https://example.com./hook'],
    ['https://8.8.8.8/x', 'https://8.8.8.8/x'],
    ['https://1.1.1.1/hook', 'https://1.1.1.1/hook'],
    ['https://[2606:4700::1111]/', 'https://[2606:4700::1111]/'],
    ['https://[2606:4700:0:0:0:0:0:1111]/', 'https://[2606:4700::1111]/'],
    ['https://[::ffff:8.8.8.8]/', 'https://[::ffff:808:808]/'],
    ['https://[2002:808:808::1]/', 'https://[2002:808:808::1]/'],
    // Numeric shorthand is fine once it normalises to a public address.
    ['https://134744072/', 'https://8.8.8.8/'],
    ['https://localhost.example.com/', 'https://localhost.example.com/'],
    ['https://mylocalhost/', 'https://mylocalhost/'],
  ])('%j → %s', (input, expected) => {
    expect(normaliseWebhookUrl(input, strict)).toEqual(ok(expected));
  });

  it('is idempotent on its own output', () => {
    const first = normaliseWebhookUrl('  https://BÜCHER.example:443/a b?q=1 ', strict);
    expect(first.ok).toBe(true);
    if (first.ok) {
      expect(normaliseWebhookUrl(first.url, strict)).toEqual(first);
    }
  });
});

describe('normaliseWebhookUrl – create-time SSRF rejection', () => {
  it.each<[string, string]>([
    ['https://localhost', NOT_LOCALHOST],
    ['https://localhost/hook', NOT_LOCALHOST],
    ['https://LOCALHOST:8443/', NOT_LOCALHOST],
    ['https://localhost./', NOT_LOCALHOST],
    ['https://localhost../', NOT_LOCALHOST],
    ['https://api.localhost/', NOT_LOCALHOST],
    ['https://a.b.localhost./', NOT_LOCALHOST],
    // Spellings that the WHATWG parser folds into `localhost`.
    ['https://ｌｏｃａｌｈｏｓｔ/', NOT_LOCALHOST],
    ['https://%6c%6fcalhost/', NOT_LOCALHOST],
    ['https://127.0.0.1', notPublic('127.0.0.1')],
    ['https://127.0.0.1:8443/hook', notPublic('127.0.0.1')],
    ['https://127.0.0.1./', notPublic('127.0.0.1')],
    ['https://127.1.2.3/', notPublic('127.1.2.3')],
    ['https://0.0.0.0', notPublic('0.0.0.0')],
    ['https://0/', notPublic('0.0.0.0')],
    ['https://[::1]', notPublic('[::1]')],
    ['https://[::]/', notPublic('[::]')],
    ['https://10.0.0.1', notPublic('10.0.0.1')],
    ['https://172.16.0.1', notPublic('172.16.0.1')],
    ['https://192.168.1.1', notPublic('192.168.1.1')],
    ['https://169.254.169.254', notPublic('169.254.169.254')],
    ['https://169.254.169.254/latest/meta-data/', notPublic('169.254.169.254')],
    ['https://100.64.0.1', notPublic('100.64.0.1')],
    ['https://224.0.0.1/', notPublic('224.0.0.1')],
    ['https://255.255.255.255/', notPublic('255.255.255.255')],
    ['https://[fc00::1]', notPublic('[fc00::1]')],
    ['https://[fd12:3456::1]/', notPublic('[fd12:3456::1]')],
    ['https://[fe80::1]', notPublic('[fe80::1]')],
    ['https://[ff02::1]/', notPublic('[ff02::1]')],
    ['https://[2001:db8::1]/', notPublic('[2001:db8::1]')],
    // The parser canonicalises first, so the message shows the address actually at risk.
    ['https://[::ffff:127.0.0.1]', notPublic('[::ffff:7f00:1]')],
    ['https://[::ffff:169.254.169.254]/', notPublic('[::ffff:a9fe:a9fe]')],
    ['https://[::127.0.0.1]/', notPublic('[::7f00:1]')],
    ['https://2130706433/', notPublic('127.0.0.1')],
    ['https://0x7f.1/', notPublic('127.0.0.1')],
    ['https://0x7f.0x0.0x0.0x1/', notPublic('127.0.0.1')],
    ['https://017700000001/', notPublic('127.0.0.1')],
    ['https://0177.0.0.1/', notPublic('127.0.0.1')],
    ['https://１２７.０.０.１/', notPublic('127.0.0.1')],
    ['https://0xa9fea9fe/', notPublic('169.254.169.254')],
    ['https://[64:ff9b::a00:1]', notPublic('[64:ff9b::a00:1]')],
    ['https://[64:ff9b::127.0.0.1]/', notPublic('[64:ff9b::7f00:1]')],
    ['https://[2002:7f00:1::]', notPublic('[2002:7f00:1::]')],
    ['https://[2002:a9fe:a9fe::1]/', notPublic('[2002:a9fe:a9fe::1]')],
  ])('%j', (input, reason) => {
    expect(normaliseWebhookUrl(input, strict)).toEqual(rejected(reason));
  });
});

describe('normaliseWebhookUrl – malformed or disallowed input', () => {
  const longUrl = (length: number): string => {
    const prefix = 'https://example.com/';
    return prefix + 'a'.repeat(length - prefix.length);
  };

  it.each<[string, string]>([
    ['', 'URL must not be empty'],
    ['   ', 'URL must not be empty'],
    ['\n\t', 'URL must not be empty'],
    ['http://example.com', 'URL scheme must be https (got http)'],
    ['http://8.8.8.8/hook', 'URL scheme must be https (got http)'],
    ['ftp://example.com/hook', 'URL scheme must be https (got ftp)'],
    ['ws://example.com/hook', 'URL scheme must be https (got ws)'],
    ['file:///etc/passwd', 'URL scheme must be https (got file)'],
    ['javascript:alert(1)', 'URL scheme must be https (got javascript)'],
    ['data:text/plain,hello', 'URL scheme must be https (got data)'],
    ['mailto:ops@example.com', 'URL scheme must be https (got mailto)'],
    ['https://', 'URL must include a host'],
    ['https:///', 'URL must include a host'],
    ['https://?q=1', 'URL must include a host'],
    ['https://#frag', 'URL must include a host'],
    ['https://:443/hook', 'URL must include a host'],
    ['https://user:pw@/hook', 'URL must include a host'],
    ['example.com/hook', 'URL is not a valid absolute URL'],
    ['/hook', 'URL is not a valid absolute URL'],
    ['//example.com/hook', 'URL is not a valid absolute URL'],
    ['https://exa mple.com/', 'URL is not a valid absolute URL'],
    ['https://[::1/', 'URL is not a valid absolute URL'],
    ['https://[fe80::1%25eth0]/', 'URL is not a valid absolute URL'],
    ['https://1.2.3.999/', 'URL is not a valid absolute URL'],
    ['https://example.com:99999/', 'URL is not a valid absolute URL'],
    ['not a url', 'URL is not a valid absolute URL'],
    [
      'https://exa\nmple.com/',
      'URL must not contain control characters such as tabs or line breaks',
    ],
    [
      'https://example.com/a\tb',
      'URL must not contain control characters such as tabs or line breaks',
    ],
    [
      'https://example.com/\u0000',
      'URL must not contain control characters such as tabs or line breaks',
    ],
    [longUrl(MAX_WEBHOOK_URL_LENGTH + 1), 'URL must be at most 2083 characters long (got 2084)'],
    [longUrl(10_000), 'URL must be at most 2083 characters long (got 10000)'],
  ])('%j', (input, reason) => {
    expect(normaliseWebhookUrl(input, strict)).toEqual(rejected(reason));
  });

  it('accepts a URL of exactly the maximum length', () => {
    const url = longUrl(MAX_WEBHOOK_URL_LENGTH);
    expect(url).toHaveLength(2083);
    expect(normaliseWebhookUrl(url, strict)).toEqual(ok(url));
  });

  it('measures the length after trimming surrounding whitespace', () => {
    const url = longUrl(MAX_WEBHOOK_URL_LENGTH);
    expect(normaliseWebhookUrl(`   ${url}   `, strict)).toEqual(ok(url));
  });

  it('re-checks the length once percent-encoding has grown the URL', () => {
    const prefix = 'https://example.com/';
    const input = prefix + ' '.repeat(MAX_WEBHOOK_URL_LENGTH - prefix.length - 1) + 'x';
    expect(input).toHaveLength(MAX_WEBHOOK_URL_LENGTH);
    const result = normaliseWebhookUrl(input, strict);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(
        /^URL must be at most 2083 characters long once normalised \(got \d+\)$/,
      );
    }
  });

  it('rejects non-string input that slipped past request validation', () => {
    const input = 42 as unknown as string;
    expect(normaliseWebhookUrl(input, strict)).toEqual(rejected('URL must be a string'));
  });
});

describe('normaliseWebhookUrl – allowPrivateNetworks', () => {
  it.each<[string, string]>([
    ['http://127.0.0.1:8080/hook', 'http://127.0.0.1:8080/hook'],
    ['https://127.0.0.1:8443/hook', 'https://127.0.0.1:8443/hook'],
    ['http://localhost:3000/hook', 'http://localhost:3000/hook'],
    ['http://api.localhost/hook', 'http://api.localhost/hook'],
    ['http://10.0.0.1/hook', 'http://10.0.0.1/hook'],
    ['http://192.168.1.1/hook', 'http://192.168.1.1/hook'],
    ['http://[::1]:8080/hook', 'http://[::1]:8080/hook'],
    ['http://[fc00::1]/hook', 'http://[fc00::1]/hook'],
    ['http://2130706433/', 'http://127.0.0.1/'],
    ['http://example.com', 'http://example.com/'],
    ['https://example.com/hook', 'https://example.com/hook'],
  ])('%j → %s', (input, expected) => {
    expect(normaliseWebhookUrl(input, permissive)).toEqual(ok(expected));
  });

  it.each<[string, string]>([
    ['ftp://127.0.0.1/hook', 'URL scheme must be http or https (got ftp)'],
    ['file:///etc/passwd', 'URL scheme must be http or https (got file)'],
    ['ws://localhost/hook', 'URL scheme must be http or https (got ws)'],
    ['', 'URL must not be empty'],
    ['http://', 'URL must include a host'],
    ['localhost:8080', 'URL scheme must be http or https (got localhost)'],
    ['127.0.0.1:8080', 'URL is not a valid absolute URL'],
  ])('still rejects %j', (input, reason) => {
    expect(normaliseWebhookUrl(input, permissive)).toEqual(rejected(reason));
  });
});
