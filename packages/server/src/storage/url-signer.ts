import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/errors.ts';

/**
 * Signs the local default's upload and download URLs: an HMAC over every parameter that limits
 * the URL (operation, key, expiry, size limit, content type, file name), compared in constant time.
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    private readonly now: () => Date,
  ) {}

  sign(params: Record<string, string>): string {
    return createHmac('sha256', this.secret).update(canonical(params)).digest('base64url');
  }

  /** Throws media.url_invalid (forged or altered) or media.url_expired. `exp` is unix seconds. */
  verify(params: Record<string, string>, sig: string | undefined): void {
    const want = Buffer.from(this.sign(params));
    const got = Buffer.from(sig ?? '');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new AppError('media.url_invalid', 'this link is not valid');
    if (!(Number(params.exp) * 1000 > this.now().getTime())) throw new AppError('media.url_expired', 'this link has expired');
  }
}

function canonical(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${k}=${encodeURIComponent(params[k]!)}`)
    .join('&');
}
