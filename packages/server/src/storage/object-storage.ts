import type { Readable } from 'node:stream';

/**
 * Where user files (attachments, thumbnails, call recordings) live. Two implementations behind
 * one contract (storage.contract.test.ts runs the same suite against both): local disk under
 * DATA_DIR (the embedded default) and any S3-compatible store (AWS S3, MinIO).
 *
 * Keys are opaque, slash-separated, made by the server only (never from user input).
 */
export interface ObjectStorage {
  readonly kind: 'local' | 's3';
  put(key: string, body: Buffer | Readable, opts: { contentType: string; contentLength?: number }): Promise<void>;
  /** Missing -> AppError 'media.not_found'. */
  read(key: string): Promise<Readable>;
  stat(key: string): Promise<{ size: number } | null>;
  /** Idempotent: deleting a missing key is fine. */
  delete(key: string): Promise<void>;
  /** Every key under `prefix` (e.g. `m/`), in pages, in no particular order: for finding orphaned objects. */
  list(prefix: string): AsyncIterable<string[]>;
  /**
   * A short-lived URL the client uploads the bytes to directly (relative for the local default).
   * The body must be exactly `size` bytes: S3 checks the signed Content-Length, the local route
   * stops reading at the first byte past it. Either way a larger body is refused at upload time.
   */
  uploadUrl(
    key: string,
    opts: { contentType: string; size: number; expiresInSec: number },
  ): Promise<{ url: string; method: 'PUT' | 'POST'; headers: Record<string, string>; fields?: Record<string, string> }>;
  /** A short-lived download URL; always served as an attachment with a safe content type. */
  downloadUrl(key: string, opts: { filename: string; contentType: string; expiresInSec: number }): Promise<string>;
}

/** Keys the server makes: letters, digits and `_-./`, no `..`, no leading slash. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9_\-][A-Za-z0-9_\-./]{0,400}$/.test(key) || key.includes('..') || key.includes('//')) {
    throw new Error(`unsafe storage key: ${JSON.stringify(key)}`);
  }
}

/**
 * Content types a browser could run as a page on our (or the bucket's) origin are never served as
 * such: they go out as application/octet-stream.
 */
export function safeContentType(contentType: string): string {
  const t = contentType.toLowerCase().split(';')[0]!.trim();
  if (!/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(t)) return 'application/octet-stream';
  if (/(html|xml|svg|javascript|ecmascript|xhtml|x-shockwave)/.test(t)) return 'application/octet-stream';
  if (t.startsWith('text/') && t !== 'text/plain' && t !== 'text/csv') return 'text/plain';
  return t;
}

/** RFC 6266 attachment disposition with an ASCII fallback and the UTF-8 name. */
export function attachmentDisposition(filename: string, opts: { asciiOnly?: boolean } = {}): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_').slice(0, 150) || 'file';
  if (opts.asciiOnly) return `attachment; filename="${ascii.replace(/[^A-Za-z0-9._ -]/g, '_')}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename.slice(0, 200))}`;
}
