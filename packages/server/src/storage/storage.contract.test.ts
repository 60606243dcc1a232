/**
 * One contract, two stores: the same suite runs against local disk (through the server's own signed
 * routes) and against a real S3-protocol server started here (@20minutes/s3rver, which checks SigV4
 * signatures and expiry), so both behave the same for every caller (media, call recordings).
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import Fastify from 'fastify';
import S3rver from '@20minutes/s3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from './local-storage.ts';
import { localStorageRoutes } from './local-storage.routes.ts';
import type { ObjectStorage } from './object-storage.ts';
import { S3Storage } from './s3-storage.ts';
import { UrlSigner } from './url-signer.ts';

interface Store {
  storage: ObjectStorage;
  /** Base for relative URLs (the local default's routes). */
  base: string;
  close(): Promise<void>;
}

async function localStore(): Promise<Store> {
  const signer = new UrlSigner('contract-secret-0123456789abcdef0123456789', () => new Date());
  const storage = new LocalDiskStorage(mkdtempSync(path.join(os.tmpdir(), 'sohbet-store-')), signer, () => new Date());
  const http = Fastify();
  await localStorageRoutes(http, storage, signer);
  await http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = http.server.address() as { port: number };
  return { storage, base: `http://127.0.0.1:${port}`, close: () => http.close() };
}

async function s3Store(): Promise<Store> {
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: mkdtempSync(path.join(os.tmpdir(), 'sohbet-s3-')), configureBuckets: [{ name: 'sohbet-test' }] });
  const { port } = (await server.run()) as { port: number };
  const storage = new S3Storage({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', bucket: 'sohbet-test', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
  return { storage, base: `http://127.0.0.1:${port}`, close: () => server.close() };
}

describe.each([
  ['local disk', localStore],
  ['S3 protocol (s3rver)', s3Store],
] as const)('object storage contract: %s', (_name, open) => {
  let s: Store;
  beforeAll(async () => {
    s = await open();
  });
  afterAll(() => s.close());
  const abs = (u: string) => new URL(u, s.base).toString();

  it('stores a buffer and a stream and reads back the same bytes and size', async () => {
    await s.storage.put('t/a.txt', Buffer.from('hello'), { contentType: 'text/plain' });
    await s.storage.put('t/b.bin', Readable.from([Buffer.from('wor'), Buffer.from('ld!')]), { contentType: 'application/octet-stream', contentLength: 6 });
    expect(await text(await s.storage.read('t/a.txt'))).toBe('hello');
    expect(await text(await s.storage.read('t/b.bin'))).toBe('world!');
    expect(await s.storage.stat('t/b.bin')).toEqual({ size: 6 });
  });

  it('reports a missing key as media.not_found on read and null on stat', async () => {
    await expect(s.storage.read('t/none')).rejects.toMatchObject({ code: 'media.not_found' });
    expect(await s.storage.stat('t/none')).toBeNull();
  });

  it('deletes idempotently', async () => {
    await s.storage.put('t/del', Buffer.from('x'), { contentType: 'text/plain' });
    await s.storage.delete('t/del');
    await s.storage.delete('t/del');
    expect(await s.storage.stat('t/del')).toBeNull();
  });

  it('accepts an upload to a signed URL and serves it from a signed download URL as an attachment', async () => {
    const up = await s.storage.uploadUrl('t/up.png', { contentType: 'image/png', size: 7, expiresInSec: 60 });
    const put = await fetch(abs(up.url), { method: up.method, headers: up.headers, body: Buffer.from('PNGDATA') });
    expect(put.status).toBe(200);
    expect(await s.storage.stat('t/up.png')).toEqual({ size: 7 });
    const url = await s.storage.downloadUrl('t/up.png', { filename: 'foto şəkil.png', contentType: 'image/png', expiresInSec: 60 });
    const got = await fetch(abs(url));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('PNGDATA');
    expect(got.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(got.headers.get('content-type')).toBe('image/png');
  });

  it('never serves HTML as HTML: the download content type is downgraded', async () => {
    await s.storage.put('t/page', Buffer.from('<script>alert(1)</script>'), { contentType: 'text/html' });
    const got = await fetch(abs(await s.storage.downloadUrl('t/page', { filename: 'x.html', contentType: 'text/html', expiresInSec: 60 })));
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(got.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('refuses a forged upload URL and stores nothing', async () => {
    const up = await s.storage.uploadUrl('t/forged', { contentType: 'image/png', size: 4, expiresInSec: 60 });
    const forged = up.url.replace(/(sig|X-Amz-Signature)=([A-Za-z0-9_-])/, (_m, k, c) => `${k}=${c === 'A' ? 'B' : 'A'}`);
    expect(forged).not.toBe(up.url);
    const put = await fetch(abs(forged), { method: up.method, headers: up.headers, body: Buffer.from('evil') });
    expect(put.status).toBe(403);
    expect(await s.storage.stat('t/forged')).toBeNull();
  });

  it('refuses an upload whose content type differs from the signed one', async () => {
    const up = await s.storage.uploadUrl('t/ct', { contentType: 'image/png', size: 3, expiresInSec: 60 });
    const put = await fetch(abs(up.url), { method: up.method, headers: { 'content-type': 'text/html' }, body: Buffer.from('<b>') });
    expect(put.status).toBe(403);
    expect(await s.storage.stat('t/ct')).toBeNull();
  });

  it('lists every key under a prefix, and nothing outside it', async () => {
    for (const k of ['l/a/o', 'l/a/t', 'l/b/o', 'lx/c']) await s.storage.put(k, Buffer.from('x'), { contentType: 'text/plain' });
    const keys: string[] = [];
    for await (const page of s.storage.list('l/')) keys.push(...page);
    expect(keys.sort()).toEqual(['l/a/o', 'l/a/t', 'l/b/o']);
    await s.storage.delete('l/a/t');
    const after: string[] = [];
    for await (const page of s.storage.list('l/a/')) after.push(...page);
    expect(after).toEqual(['l/a/o']);
    const none: string[] = [];
    for await (const page of s.storage.list('nothing/')) none.push(...page);
    expect(none).toEqual([]);
  });

  it('refuses at upload time a body larger than the signed size, and stores nothing', async () => {
    const up = await s.storage.uploadUrl('t/big', { contentType: 'application/pdf', size: 1000, expiresInSec: 60 });
    const put = await fetch(abs(up.url), { method: up.method, headers: up.headers, body: Buffer.alloc(1001, 0x41) });
    expect(put.ok).toBe(false);
    expect([403, 413]).toContain(put.status);
    expect(await s.storage.stat('t/big')).toBeNull();
  });

  it('refuses a body smaller than the signed size, and stores nothing', async () => {
    const up = await s.storage.uploadUrl('t/small', { contentType: 'application/pdf', size: 1000, expiresInSec: 60 });
    const put = await fetch(abs(up.url), { method: up.method, headers: up.headers, body: Buffer.alloc(999, 0x41) });
    expect(put.ok).toBe(false);
    expect(await s.storage.stat('t/small')).toBeNull();
  });

  it('refuses an expired download URL', async () => {
    await s.storage.put('t/exp', Buffer.from('x'), { contentType: 'text/plain' });
    const url = await s.storage.downloadUrl('t/exp', { filename: 'x', contentType: 'text/plain', expiresInSec: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(abs(url))).status).toBe(403);
  });
});

describe('local upload URL limits', () => {
  it('refuses a body larger than the signed size and keeps nothing', async () => {
    const s = await localStore();
    try {
      const up = await s.storage.uploadUrl('t/big', { contentType: 'application/pdf', size: 10, expiresInSec: 60 });
      const res = await fetch(new URL(up.url, s.base), { method: 'PUT', headers: up.headers, body: Buffer.alloc(11) });
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('media.too_large');
      expect(await s.storage.stat('t/big')).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('answers 413 to a chunked body while it is still being sent (streamed, never buffered to the end)', async () => {
    const s = await localStore();
    try {
      const up = await s.storage.uploadUrl('t/chunked', { contentType: 'application/pdf', size: 64 * 1024, expiresInSec: 60 });
      const u = new URL(up.url, s.base);
      // No Content-Length: the route cannot refuse up front and must count the bytes as they come.
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', headers: { ...up.headers, 'transfer-encoding': 'chunked' } });
      req.on('error', () => {});
      const answered = new Promise<{ status: number; body: string }>((resolve) =>
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        }),
      );
      req.write(Buffer.alloc(64 * 1024 + 1, 0x41));
      // The rest of the body never comes: only a server that stopped at the limit can answer.
      const res = await Promise.race([answered, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      req.destroy();
      expect(res?.status).toBe(413);
      expect(JSON.parse(res!.body).error.code).toBe('media.too_large');
      expect(await s.storage.stat('t/chunked')).toBeNull();
    } finally {
      await s.close();
    }
  });
});
