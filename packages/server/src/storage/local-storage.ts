import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import { assertSafeKey, type ObjectStorage } from './object-storage.ts';
import type { UrlSigner } from './url-signer.ts';

/** Where the server's own upload/download routes for the local default live. */
export const LOCAL_ROUTE = '/media/local';

/**
 * The embedded default: files on local disk under DATA_DIR/media. Writes go to a temp file and are
 * renamed into place, so a reader never sees half a file and a crash leaves only temp litter.
 */
export class LocalDiskStorage implements ObjectStorage {
  readonly kind = 'local' as const;

  constructor(
    private readonly root: string,
    private readonly signer: UrlSigner,
    private readonly now: () => Date,
  ) {}

  /** Absolute path of a key's file (the download route streams byte ranges from it). */
  pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, 'objects', key);
  }

  async put(key: string, body: Buffer | Readable, opts: { contentType: string; contentLength?: number }): Promise<void> {
    await this.putLimited(key, body, opts.contentLength ?? Number.MAX_SAFE_INTEGER);
  }

  /**
   * Writes at most `maxBytes`; more -> media.too_large and nothing is stored. A stream is cut at the
   * first chunk past the limit (never read to its end first). With `exact`, fewer bytes ->
   * media.size_mismatch and nothing is stored either.
   */
  async putLimited(key: string, body: Buffer | Readable, maxBytes: number, opts: { exact?: boolean } = {}): Promise<number> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(this.root, 'tmp', `${randomBytes(8).toString('hex')}.part`);
    await mkdir(path.dirname(tmp), { recursive: true });
    let n = 0;
    try {
      if (Buffer.isBuffer(body)) {
        if (body.length > maxBytes) throw new AppError('media.too_large', `at most ${maxBytes} bytes`);
        await writeFile(tmp, body);
        n = body.length;
      } else {
        const limit = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            n += chunk.length;
            if (n > maxBytes) cb(new AppError('media.too_large', `at most ${maxBytes} bytes`));
            else cb(null, chunk);
          },
        });
        await pipeline(body, limit, createWriteStream(tmp));
      }
      if (opts.exact && n !== maxBytes) throw new AppError('media.size_mismatch', `the upload has ${n} bytes, not the ${maxBytes} announced`);
      // On disk before it is acknowledged (G6), flushed from the thread pool: left to the kernel, the
      // write-back of big uploads lands on whoever syncs next — PGlite's commits, on the event loop.
      const fh = await open(tmp, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      return n;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async read(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    if (!(await this.stat(key))) throw new AppError('media.not_found', 'no such file');
    return createReadStream(file);
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { size: s.size } : null;
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<string[]> {
    const objects = path.join(this.root, 'objects');
    // The directory that holds the prefix; keys are filtered by the full prefix below.
    const start = path.join(objects, prefix.slice(0, prefix.lastIndexOf('/') + 1));
    const dirs = [start];
    let page: string[] = [];
    while (dirs.length) {
      const dir = dirs.pop()!;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) dirs.push(full);
        else if (e.isFile()) {
          const key = path.relative(objects, full).split(path.sep).join('/');
          if (key.startsWith(prefix)) page.push(key);
          if (page.length >= 1000) yield page.splice(0);
        }
      }
    }
    if (page.length) yield page;
  }

  async uploadUrl(key: string, opts: { contentType: string; size: number; expiresInSec: number }) {
    assertSafeKey(key);
    const params = { op: 'put', key, exp: this.expiry(opts.expiresInSec), max: String(opts.size), ct: opts.contentType };
    const qs = new URLSearchParams({ ...params, sig: this.signer.sign(params) });
    return { url: `${LOCAL_ROUTE}/upload?${qs}`, method: 'PUT' as const, headers: { 'content-type': opts.contentType } };
  }

  async downloadUrl(key: string, opts: { filename: string; contentType: string; expiresInSec: number }): Promise<string> {
    assertSafeKey(key);
    const params = { op: 'get', key, exp: this.expiry(opts.expiresInSec), fn: opts.filename, ct: opts.contentType };
    return `${LOCAL_ROUTE}/download?${new URLSearchParams({ ...params, sig: this.signer.sign(params) })}`;
  }

  private expiry(sec: number): string {
    return String(Math.floor(this.now().getTime() / 1000) + sec);
  }
}
