/**
 * The upload flow end to end over real HTTP: request -> signed URL -> upload -> finalize -> send,
 * with real files made here (PNG/JPEG/WebP, Opus/WebM, AAC/M4A, PDF) and broken ones, on PGlite and
 * PostgreSQL with local disk, and on a real S3-protocol server (s3rver, SigV4 checked).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../src/storage/s3-storage.ts';
import type { ObjectStorage } from '../src/storage/object-storage.ts';
import { callerFor, codeOf } from './caller.ts';
import { services as testServices, startTestServer, type TestServer } from './harness.ts';
import { aacM4a, exe, jpegWithGps, opusWebm, pdf, png, webp } from './media-fixtures.ts';

type Tier = { name: string; db: 'pglite' | 'postgres'; s3: boolean };
const tiers: Tier[] = [
  { name: 'PGlite + local disk', db: 'pglite', s3: false },
  ...(testServices.postgres ? [{ name: 'PostgreSQL + local disk', db: 'postgres' as const, s3: false }] : []),
  { name: 'PGlite + S3 protocol (s3rver)', db: 'pglite', s3: true },
];

let n = 0;
const cid = () => `media-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;

describe.each(tiers)('media API on $name', (tier) => {
  let srv: TestServer;
  let s3: S3rver | null = null;
  let fixtures: { png: Buffer; jpeg: Buffer; webp: Buffer; voice: Buffer; m4a: Buffer; pdf: Buffer };
  beforeAll(async () => {
    let storage: ObjectStorage | undefined;
    if (tier.s3) {
      s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: mkdtempSync(path.join(os.tmpdir(), 'sohbet-s3-')), configureBuckets: [{ name: 'media' }] });
      const { port } = await s3.run();
      storage = new S3Storage({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', bucket: 'media', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
    }
    srv = await startTestServer({ db: tier.db, env: { MEDIA_MAX_IMAGE_MB: '2', MEDIA_MAX_VOICE_SECONDS: '4' }, app: { storage } });
    fixtures = { png: await png(), jpeg: await jpegWithGps(), webp: await webp(), voice: opusWebm(2), m4a: aacM4a(1), pdf: pdf() };
  }, 60_000);
  afterAll(async () => {
    await srv.close();
    await s3?.close();
  });

  const as = (u: string) => callerFor(srv.app.services, u);
  type Caller = Awaited<ReturnType<typeof as>>;
  const abs = (u: string) => new URL(u, srv.url).toString();

  async function pair(a: string, b: string) {
    const ca = await as(a);
    const cb = await as(b);
    const conv = await ca.chat.openDirect({ userId: b });
    return { ca, cb, conv };
  }

  /** What the SDK does: request a URL, PUT the bytes, finalize. */
  async function upload(c: Caller, conversationId: string, f: { kind: 'image' | 'file' | 'voice'; name: string; mime: string; bytes: Buffer; size?: number }) {
    const t = await c.media.requestUpload({ conversationId, kind: f.kind, name: f.name, mime: f.mime, size: f.size ?? f.bytes.length });
    const put = await fetch(abs(t.url), { method: t.method, headers: t.headers, body: new Uint8Array(f.bytes) });
    return { ticket: t, put, finalize: () => c.media.finalize({ attachmentId: t.attachmentId }) };
  }
  const download = async (c: Caller, attachmentId: string, variant: 'original' | 'thumbnail' = 'original') => fetch(abs((await c.media.url({ attachmentId, variant })).url));
  const stored = (key: string) => srv.app.services.storage.stat(key);

  it('sends photos: the other side gets dimensions, a placeholder and a thumbnail, and the original has no EXIF/GPS left', async () => {
    const { ca, cb, conv } = await pair('img-a', 'img-b');
    const a1 = await (await upload(ca, conv.id, { kind: 'image', name: 'IMG_0001.jpg', mime: 'image/jpeg', bytes: fixtures.jpeg })).finalize();
    const a2 = await (await upload(ca, conv.id, { kind: 'image', name: 'screen.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    const a3 = await (await upload(ca, conv.id, { kind: 'image', name: 'sticker.webp', mime: 'image/webp', bytes: fixtures.webp })).finalize();
    expect(a1).toMatchObject({ kind: 'image', mime: 'image/jpeg', width: 1200, height: 800, thumbnail: true });
    expect(a1.placeholder).toMatch(/^[A-Za-z0-9+/=]{10,}$/);
    expect(a2).toMatchObject({ width: 320, height: 200 });
    const msg = await ca.chat.send({ conversationId: conv.id, clientId: cid(), text: 'bu rəngdə var?', attachmentIds: [a1.id, a2.id, a3.id] });
    expect(msg.kind).toBe('image');
    expect(msg.text).toBe('bu rəngdə var?');
    const seen = (await cb.chat.history({ conversationId: conv.id, limit: 10 })).messages.at(-1)!;
    expect(seen.payload).toMatchObject({ type: 'media', attachments: [{ id: a1.id }, { id: a2.id }, { id: a3.id }] });

    const original = await download(cb, a1.id);
    expect(original.status).toBe(200);
    expect(original.headers.get('content-disposition')).toMatch(/^attachment;/);
    const bytes = Buffer.from(await original.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect(bytes.includes(Buffer.from('PhoneMaker'))).toBe(false);
    expect(meta.width).toBe(1200);
    const thumb = await download(cb, a1.id, 'thumbnail');
    const tmeta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(tmeta.format).toBe('webp');
    expect(Math.max(tmeta.width!, tmeta.height!)).toBeLessThanOrEqual(480);
  });

  it('sends a PDF as a file with its name, size and sniffed type', async () => {
    const { ca, cb, conv } = await pair('pdf-a', 'pdf-b');
    const doc = await (await upload(ca, conv.id, { kind: 'file', name: 'qaimə.pdf', mime: 'application/pdf', bytes: fixtures.pdf })).finalize();
    expect(doc).toMatchObject({ kind: 'file', name: 'qaimə.pdf', size: fixtures.pdf.length, mime: 'application/pdf', thumbnail: false });
    const msg = await ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [doc.id] });
    expect(msg.kind).toBe('file');
    const got = await download(cb, doc.id);
    expect(Buffer.from(await got.arrayBuffer()).equals(fixtures.pdf)).toBe(true);
  });

  it('sends a voice message: duration and waveform come from the file; the first play by the listener is recorded once', async () => {
    const { ca, cb, conv } = await pair('voice-a', 'voice-b');
    const v = await (await upload(ca, conv.id, { kind: 'voice', name: 'voice.webm', mime: 'audio/webm;codecs=opus', bytes: fixtures.voice })).finalize();
    expect(v.kind).toBe('voice');
    expect(v.durationMs).toBeGreaterThan(1900);
    expect(v.durationMs).toBeLessThan(2100);
    expect(v.waveform).toHaveLength(64);
    expect(Math.max(...v.waveform!)).toBe(255);
    const msg = await ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [v.id] });
    expect(msg.kind).toBe('voice');
    await ca.media.markHeard({ conversationId: conv.id, seq: msg.seq }); // the sender's own play does not count
    await cb.media.markHeard({ conversationId: conv.id, seq: msg.seq });
    await cb.media.markHeard({ conversationId: conv.id, seq: msg.seq });
    const heard = await ca.media.heard({ conversationId: conv.id, seqs: [msg.seq] });
    expect(heard.map((h) => h.userId)).toEqual(['voice-b']);
  });

  it('accepts AAC/M4A voice as React Native records it', async () => {
    const { ca, conv } = await pair('m4a-a', 'm4a-b');
    const v = await (await upload(ca, conv.id, { kind: 'voice', name: 'rec.m4a', mime: 'audio/mp4', bytes: fixtures.m4a })).finalize();
    expect(v.mime).toBe('audio/mp4');
    expect(v.durationMs).toBeGreaterThan(900);
  });

  it('G6: an executable named .png is a type mismatch and nothing is kept', async () => {
    const { ca, conv } = await pair('exe-a', 'exe-b');
    const u = await upload(ca, conv.id, { kind: 'image', name: 'photo.png', mime: 'image/png', bytes: exe() });
    expect(await codeOf(u.finalize())).toBe('media.type_mismatch');
    expect(await stored(`m/${u.ticket.attachmentId}/o`)).toBeNull();
    expect(await codeOf(ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [u.ticket.attachmentId] }))).toBe('media.not_found');
    expect(await codeOf(ca.media.requestUpload({ conversationId: conv.id, kind: 'file', name: 'setup.exe', mime: 'application/octet-stream', size: 100 }))).toBe('media.type_not_allowed');
    expect(await codeOf(ca.media.requestUpload({ conversationId: conv.id, kind: 'file', name: 'page.html', mime: 'text/html', size: 100 }))).toBe('media.type_not_allowed');
  });

  it('G6: truncated images and audio are corrupt; zero bytes, oversize and a size different from the announced one are refused', async () => {
    const { ca, conv } = await pair('bad-a', 'bad-b');
    const half = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2));
    const j = await upload(ca, conv.id, { kind: 'image', name: 'a.jpg', mime: 'image/jpeg', bytes: half(fixtures.jpeg) });
    expect(await codeOf(j.finalize())).toBe('media.corrupt');
    const a = await upload(ca, conv.id, { kind: 'voice', name: 'v.webm', mime: 'audio/webm', bytes: half(fixtures.voice) });
    expect(await codeOf(a.finalize())).toBe('media.corrupt');
    expect(await codeOf(ca.media.requestUpload({ conversationId: conv.id, kind: 'file', name: 'empty.txt', mime: 'text/plain', size: 0 }))).toBe('media.empty');
    expect(await codeOf(ca.media.requestUpload({ conversationId: conv.id, kind: 'image', name: 'big.jpg', mime: 'image/jpeg', size: 3 * 1024 * 1024 }))).toBe('media.too_large');
    // Announce 10 bytes, upload the whole PDF: refused at upload time on every store (the local route
    // stops at the 11th byte; S3 checks the signed Content-Length), so nothing is there to finalize.
    const lie = await upload(ca, conv.id, { kind: 'file', name: 'x.pdf', mime: 'application/pdf', bytes: fixtures.pdf, size: 10 });
    expect(lie.put.ok).toBe(false);
    expect(lie.put.status).toBe(tier.s3 ? 403 : 413);
    expect(await codeOf(lie.finalize())).toBe('media.not_uploaded');
    for (const u of [j, a, lie]) expect(await stored(`m/${u.ticket.attachmentId}/o`)).toBeNull();
    expect((await srv.app.services.media.usage('bad-a'))).toEqual([]);
  });

  it('G6: a voice message longer than the limit is refused (duration read from the file)', async () => {
    const { ca, conv } = await pair('long-a', 'long-b');
    const u = await upload(ca, conv.id, { kind: 'voice', name: 'long.webm', mime: 'audio/webm', bytes: opusWebm(5) });
    expect(await codeOf(u.finalize())).toBe('media.too_long');
  });

  it('only members get download URLs; unsent uploads are the uploader\'s alone; forged URLs are refused', async () => {
    const { ca, cb, conv } = await pair('acl-a', 'acl-b');
    const outsider = await as('acl-outsider');
    const img = await (await upload(ca, conv.id, { kind: 'image', name: 'p.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    expect(await codeOf(cb.media.url({ attachmentId: img.id, variant: 'original' }))).toBe('media.not_found');
    await ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [img.id] });
    // An outsider learns nothing, not even that the file exists: the same answer as for a missing id.
    expect(await codeOf(outsider.media.url({ attachmentId: img.id, variant: 'original' }))).toBe('media.not_found');
    expect(await codeOf(outsider.media.url({ attachmentId: 'att_does_not_exist', variant: 'original' }))).toBe('media.not_found');
    expect(await codeOf(outsider.media.requestUpload({ conversationId: conv.id, kind: 'image', name: 'p.png', mime: 'image/png', size: 10 }))).toBe('chat.not_member');
    const { url } = await cb.media.url({ attachmentId: img.id, variant: 'original' });
    const forged = url.replace(/(m%2F|m\/)att_[0-9a-f]{4}/, '$1att_0000');
    expect(forged).not.toBe(url);
    expect((await fetch(abs(forged))).status).toBe(403);
    // The same upload cannot go into a second message.
    expect(await codeOf(ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [img.id] }))).toBe('media.already_used');
    // Someone else's upload cannot be sent.
    const other = await (await upload(cb, conv.id, { kind: 'file', name: 'd.pdf', mime: 'application/pdf', bytes: fixtures.pdf })).finalize();
    expect(await codeOf(ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [other.id] }))).toBe('media.not_found');
  });

  it('deleting a message for everyone deletes its files; usage per user follows', async () => {
    const { ca, cb, conv } = await pair('del-a', 'del-b');
    const img = await (await upload(ca, conv.id, { kind: 'image', name: 'p.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    const msg = await ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [img.id] });
    const before = await srv.app.services.media.usage('del-a');
    expect(before).toEqual([{ userId: 'del-a', files: 1, bytes: img.size }]);
    await ca.chat.delete({ conversationId: conv.id, seq: msg.seq, scope: 'everyone' });
    expect(await codeOf(cb.media.url({ attachmentId: img.id, variant: 'original' }))).toBe('media.not_found');
    expect(await srv.app.services.media.usage('del-a')).toEqual([]);
    await srv.app.services.media.sweep();
    expect(await stored(`m/${img.id}/o`)).toBeNull();
    expect(await stored(`m/${img.id}/t`)).toBeNull();
  });

  it('a voice note travels alone', async () => {
    const { ca, conv } = await pair('mix-a', 'mix-b');
    const v = await (await upload(ca, conv.id, { kind: 'voice', name: 'v.webm', mime: 'audio/webm', bytes: fixtures.voice })).finalize();
    const p = await (await upload(ca, conv.id, { kind: 'image', name: 'p.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    expect(await codeOf(ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [v.id, p.id] }))).toBe('media.too_many');
    expect((await ca.chat.send({ conversationId: conv.id, clientId: cid(), attachmentIds: [p.id] })).kind).toBe('image');
    // Forwarding messages with attachments: media.forward.test.ts.
  });

  it('works in live support: the customer sends a photo in the support chat and the operator who took it opens it', async () => {
    const op = await callerFor(srv.app.services, 'sup-op', { roles: ['operator'] });
    await op.support.updateMe({ status: 'available', topics: ['media'], maxChats: 3 });
    const cust = await as('sup-cust');
    const chat = await cust.support.start({ topic: 'media', text: 'Məhsul zədəli gəldi', clientId: cid() });
    await op.support.accept({ chatId: chat.id });
    const img = await (await upload(cust, chat.conversationId, { kind: 'image', name: 'zedeli.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    await cust.chat.send({ conversationId: chat.conversationId, clientId: cid(), text: 'şəkil', attachmentIds: [img.id] });
    const res = await download(op, img.id, 'thumbnail');
    expect(res.status).toBe(200);
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).format).toBe('webp');
  });

  it('G2: sending the same clientId with attachments twice returns the stored message', async () => {
    const { ca, conv } = await pair('g2m-a', 'g2m-b');
    const p = await (await upload(ca, conv.id, { kind: 'image', name: 'p.png', mime: 'image/png', bytes: fixtures.png })).finalize();
    const id = cid();
    const first = await ca.chat.send({ conversationId: conv.id, clientId: id, attachmentIds: [p.id] });
    const again = await ca.chat.send({ conversationId: conv.id, clientId: id, attachmentIds: [p.id] });
    expect(again.id).toBe(first.id);
  });
});
