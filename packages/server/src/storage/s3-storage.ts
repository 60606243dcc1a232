import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AwsClient } from 'aws4fetch';
import { AppError } from '../core/errors.ts';
import { assertSafeKey, attachmentDisposition, safeContentType, type ObjectStorage } from './object-storage.ts';

export interface S3Config {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
  /** MinIO or another S3-compatible server; unset means AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint: string | undefined;
  /** Bucket in the path (MinIO, local servers) instead of the host name. */
  forcePathStyle: boolean;
}

/**
 * Any S3-compatible store, spoken to with SigV4 (aws4fetch: small, WebCrypto-based). Clients
 * upload and download with presigned URLs, so file bytes never pass through Sohbet.
 */
export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  private readonly aws: AwsClient;
  private readonly base: string;

  constructor(
    private readonly cfg: S3Config,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.aws = new AwsClient({ accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey, region: cfg.region, service: 's3' });
    const endpoint = (cfg.endpoint ?? `https://s3.${cfg.region}.amazonaws.com`).replace(/\/+$/, '');
    if (cfg.forcePathStyle) this.base = `${endpoint}/${cfg.bucket}`;
    else {
      const u = new URL(endpoint);
      u.hostname = `${cfg.bucket}.${u.hostname}`;
      this.base = u.toString().replace(/\/+$/, '');
    }
  }

  private url(key: string): string {
    assertSafeKey(key);
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async call(key: string, init: RequestInit): Promise<Response> {
    const req = await this.aws.sign(this.url(key), init);
    return this.fetchImpl(req);
  }

  async put(key: string, body: Buffer | Readable, opts: { contentType: string; contentLength?: number }): Promise<void> {
    // S3 needs the length up front; a stream of unknown length is collected first.
    const bytes = Buffer.isBuffer(body) ? body : opts.contentLength === undefined ? await buffer(body) : null;
    const headers: Record<string, string> = { 'content-type': opts.contentType };
    let res: Response;
    if (bytes) res = await this.call(key, { method: 'PUT', headers, body: bytes as unknown as BodyInit });
    else {
      headers['content-length'] = String(opts.contentLength);
      res = await this.call(key, { method: 'PUT', headers, body: Readable.toWeb(body as Readable) as ReadableStream, duplex: 'half' } as RequestInit);
    }
    if (!res.ok) throw new Error(`S3 PUT ${key} failed: ${res.status} ${await res.text()}`);
  }

  async read(key: string): Promise<Readable> {
    const res = await this.call(key, { method: 'GET' });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new AppError('media.not_found', 'no such file');
    }
    if (!res.ok || !res.body) throw new Error(`S3 GET ${key} failed: ${res.status}`);
    return Readable.fromWeb(res.body as never);
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const res = await this.call(key, { method: 'HEAD' });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`S3 HEAD ${key} failed: ${res.status}`);
    return { size: Number(res.headers.get('content-length') ?? 0) };
  }

  async delete(key: string): Promise<void> {
    const res = await this.call(key, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error(`S3 DELETE ${key} failed: ${res.status}`);
  }

  /** ListObjectsV2, 1000 keys a page, following continuation tokens. */
  async *list(prefix: string): AsyncIterable<string[]> {
    let token: string | null = null;
    do {
      const u = new URL(this.base);
      u.searchParams.set('list-type', '2');
      u.searchParams.set('prefix', prefix);
      if (token) u.searchParams.set('continuation-token', token);
      const res = await this.fetchImpl(await this.aws.sign(u.toString(), { method: 'GET' }));
      const xml = await res.text();
      if (!res.ok) throw new Error(`S3 LIST ${prefix} failed: ${res.status} ${xml.slice(0, 200)}`);
      const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlText(m[1]!));
      if (keys.length) yield keys;
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') || null : null;
    } while (token);
  }

  /**
   * A presigned PUT with the content type and the Content-Length signed (allHeaders: aws4fetch
   * skips both by default). S3 and MinIO check every signed header, so a body of any other size
   * is refused before it is stored (403 SignatureDoesNotMatch). Browsers set Content-Length from the
   * body themselves (it is a forbidden header), so the client sends only the content type.
   */
  async uploadUrl(key: string, opts: { contentType: string; size: number; expiresInSec: number }) {
    const u = new URL(this.url(key));
    u.searchParams.set('X-Amz-Expires', String(opts.expiresInSec));
    const signed = await this.aws.sign(u.toString(), {
      method: 'PUT',
      headers: { 'content-type': opts.contentType, 'content-length': String(opts.size) },
      aws: { signQuery: true, allHeaders: true },
    });
    return { url: signed.url, method: 'PUT' as const, headers: { 'content-type': opts.contentType } };
  }

  async downloadUrl(key: string, opts: { filename: string; contentType: string; expiresInSec: number }): Promise<string> {
    const u = new URL(this.url(key));
    u.searchParams.set('X-Amz-Expires', String(opts.expiresInSec));
    // ASCII name only: S3 servers disagree on encoding `'` and `*` (RFC 5987 filename*) in
    // signed query strings; clients keep the real name from the attachment metadata.
    u.searchParams.set('response-content-disposition', attachmentDisposition(opts.filename, { asciiOnly: true }));
    u.searchParams.set('response-content-type', safeContentType(opts.contentType));
    const signed = await this.aws.sign(u.toString(), { method: 'GET', aws: { signQuery: true } });
    return signed.url;
  }
}

function xmlText(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
}
