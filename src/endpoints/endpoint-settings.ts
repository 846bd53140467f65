import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/config';
import { validationFailed } from '../common/errors';
import { normaliseWebhookUrl } from '../ssrf/webhook-url';

export const ENDPOINT_SETTINGS = Symbol('EndpointSettings');

export const DEFAULT_SECRET_GRACE_PERIOD_MS = 24 * 60 * 60 * 1000;

/** Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the HMAC key). */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Policy applied to endpoint writes, from configuration. */
export class EndpointSettings {
  constructor(
    private readonly config: Pick<AppConfig, 'allowPrivateNetworks'>,
    readonly secretGracePeriodMs = DEFAULT_SECRET_GRACE_PERIOD_MS,
  ) {}

  /** The normalised URL, or a 422 on `body.url` saying what is wrong with it. */
  normaliseUrl(input: string): string {
    const check = normaliseWebhookUrl(input, {
      allowPrivateNetworks: this.config.allowPrivateNetworks,
    });
    if (check.ok) return check.url;
    throw validationFailed([
      { type: 'url_parsing', loc: ['body', 'url'], msg: check.reason, input },
    ]);
  }
}
