/**
 * Forwarding messages with attachments (the forward references the same stored objects; the last
 * reference to go removes them) and no orphaned objects, whichever path removes a message or a
 * conversation. On PGlite and PostgreSQL with local disk, and on a real S3-protocol server.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/db/db.ts';
import { S3Storage } from '../src/storage/s3-storage.ts';
import type { ObjectStorage } from '../src/storage/object-storage.ts';
import { callerFor, codeOf } from './caller.ts';
import { services as testServices, startTestServer, type TestServer } from './harness.ts';
import { opusWebm, pdf, png } from './media-fixtures.ts';

type Tier = { name: string; db: 'pglite' | 'postgres'; s3: boolean };
const tiers: Tier[] = [
  { name: 'PGlite + local disk', db: 'pglite', s3: false },
  ...(testServices.postgres ? [{ name: 'PostgreSQL + local disk', db: 'postgres' as const, s3: false }] : []),
  { name: 'PGlite + S3 protocol (s3rver)', db: 'pglite', s3: true },
];

let n = 0;
const cid = () => `mfwd-${Date.now().toString(36)}-${(n++).toString(36).padStart(4, '0')}`;

describe.each(tiers)('media forwarding and orphans on $name', (tier) => {
  let srv: TestServer;
  let s3: S3rver | null = null;
  let img: Buffer;
  beforeAll(async () => {
    let storage: ObjectStorage | undefined;
    if (tier.s3) {
      s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: mkdtempSync(path.join(os.tmpdir(), 'sohbet-s3-')), configureBuckets: [{ name: 'media' }] });
      const { port } = await s3.run();
      storage = new S3Storage({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', bucket: 'media', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
    }
    srv = await startTestServer({ db: tier.db, env: { MEDIA_SWEEP_MS: '3600000', MEDIA_RECONCILE_MS: '3600000' }, app: { storage } });
    img = await png(96, 64);
  }, 180_000);
  afterAll(async () => {
    await srv?.close();
    await s3?.close();
  }, 60_000);

  const as = (u: string) => callerFor(srv.app.services, u);
  type Caller = Awaited<ReturnType<typeof as>>;
  const abs = (u: string) => new URL(u, srv.url).toString();
  const media = () => srv.app.services.media;
  const db = () => srv.app.services.database.db;

  async function send(c: Caller, conversationId: string, files: Array<{ kind: 'image' | 'file' | 'voice'; name: string; mime: string; bytes: Buffer }>, text?: string) {
    const ids: string[] = [];
    for (const f of files) {
      const t = await c.media.requestUpload({ conversationId, kind: f.kind, name: f.name, mime: f.mime, size: f.bytes.length });
      expect((await fetch(abs(t.url), { method: t.method, headers: t.headers, body: new Uint8Array(f.bytes) })).status).toBe(200);
      ids.push((await c.media.finalize({ attachmentId: t.attachmentId })).id);
    }
    return c.chat.send({ conversationId, clientId: cid(), text, attachmentIds: ids });
  }
  const attachmentsOf = (m: { payload: unknown }) => (m.payload as { attachments: Array<{ id: string; name: string; thumbnail: boolean }> }).attachments;
  const fetchOf = async (c: Caller, attachmentId: string, variant: 'original' | 'thumbnail' = 'original') => {
    const res = await fetch(abs((await c.media.url({ attachmentId, variant })).url));
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  async function keys(prefix = 'm/'): Promise<string[]> {
    const out: string[] = [];
    for await (const page of srv.app.services.storage.list(prefix)) out.push(...page);
    return out.sort();
  }

  it('M6: forwards a photo with its caption: members of the target conversation download it with their own URLs, non-members cannot', async () => {
    const [a, b, c, d] = [await as('fw1-a'), await as('fw1-b'), await as('fw1-c'), await as('fw1-d')];
    const ab = await a.chat.openDirect({ userId: 'fw1-b' });
    const bc = await b.chat.openDirect({ userId: 'fw1-c' });
    const original = await send(a, ab.id, [{ kind: 'image', name: 'divan.png', mime: 'image/png', bytes: img }, { kind: 'file', name: 'qaimə.pdf', mime: 'application/pdf', bytes: pdf() }], 'bu divan?');
    const [oImg, oPdf] = attachmentsOf(original);

    // b (not the uploader) forwards a's message to c, who is not in a's conversation.
    const fwd = await b.chat.send({ conversationId: bc.id, clientId: cid(), forward: { conversationId: ab.id, seq: original.seq } });
    expect(fwd).toMatchObject({ forwarded: true, kind: 'file', text: 'bu divan?', senderId: 'fw1-b' });
    const seen = (await c.chat.history({ conversationId: bc.id, limit: 5 })).messages.at(-1)!;
    const [fImg, fPdf] = attachmentsOf(seen);
    expect(seen.payload).toMatchObject({ type: 'media', attachments: [{ name: 'divan.png', thumbnail: true }, { name: 'qaimə.pdf' }] });
    expect(fImg!.id).not.toBe(oImg!.id);

    const fromOriginal = await fetchOf(b, oImg!.id);
    const fromForward = await fetchOf(c, fImg!.id);
    expect(fromForward.status).toBe(200);
    expect(fromForward.bytes.equals(fromOriginal.bytes)).toBe(true);
    expect((await fetchOf(c, fImg!.id, 'thumbnail')).status).toBe(200);
    expect((await fetchOf(c, fPdf!.id)).bytes.equals(pdf())).toBe(true);

    // c got the forward, not a's conversation: the original's ids stay closed to c; d sees neither.
    expect(await codeOf(c.media.url({ attachmentId: oImg!.id, variant: 'original' }))).toMatch(/^(media\.not_found|chat\.not_member)$/);
    expect(await codeOf(c.media.url({ attachmentId: oPdf!.id, variant: 'original' }))).toMatch(/^(media\.not_found|chat\.not_member)$/);
    expect(await codeOf(d.media.url({ attachmentId: fImg!.id, variant: 'original' }))).toMatch(/^(media\.not_found|chat\.not_member)$/);

    // No bytes were copied: the forward shares the original's objects, and usage counts them once.
    expect(await keys(`m/${fImg!.id}/`)).toEqual([]);
    expect(await media().usage('fw1-a')).toEqual([{ userId: 'fw1-a', files: 2, bytes: expect.any(Number) }]);
    expect(await media().usage('fw1-b')).toEqual([]);
  });

  it('M6: deleting the original for everyone does not break the forward; deleting the forward too removes the objects', async () => {
    const [a, b] = [await as('fw2-a'), await as('fw2-b')];
    await as('fw2-c');
    const ab = await a.chat.openDirect({ userId: 'fw2-b' });
    const ac = await a.chat.openDirect({ userId: 'fw2-c' });
    const original = await send(a, ab.id, [{ kind: 'voice', name: 'səs.webm', mime: 'audio/webm', bytes: opusWebm(1) }]);
    const [o] = attachmentsOf(original);
    const fwd = await a.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: ab.id, seq: original.seq } });
    expect(fwd.kind).toBe('voice');
    const [f] = attachmentsOf(fwd);
    const c = await as('fw2-c');

    await a.chat.delete({ conversationId: ab.id, seq: original.seq, scope: 'everyone' });
    await media().sweep();
    expect(await codeOf(b.media.url({ attachmentId: o!.id, variant: 'original' }))).toBe('media.not_found');
    expect(await keys(`m/${o!.id}/`)).toEqual([`m/${o!.id}/o`]); // still referenced by the forward
    const heard = await fetchOf(c, f!.id);
    expect(heard.status).toBe(200);
    expect(heard.bytes.length).toBeGreaterThan(100);
    // A deleted message cannot be forwarded any more.
    expect(await codeOf(a.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: ab.id, seq: original.seq } }))).toBe('chat.deleted');

    await a.chat.delete({ conversationId: ac.id, seq: fwd.seq, scope: 'everyone' });
    await media().sweep();
    expect(await keys(`m/${o!.id}/`)).toEqual([]);
    expect(await codeOf(c.media.url({ attachmentId: f!.id, variant: 'original' }))).toBe('media.not_found');
  });

  it('M6: a forward of a forward keeps working after both earlier messages are deleted', async () => {
    const [a, b] = [await as('fw3-a'), await as('fw3-b')];
    await as('fw3-c');
    const ab = await a.chat.openDirect({ userId: 'fw3-b' });
    const bc = await b.chat.openDirect({ userId: 'fw3-c' });
    const ac = await a.chat.openDirect({ userId: 'fw3-c' });
    const m1 = await send(a, ab.id, [{ kind: 'image', name: 'p.png', mime: 'image/png', bytes: img }]);
    const m2 = await b.chat.send({ conversationId: bc.id, clientId: cid(), forward: { conversationId: ab.id, seq: m1.seq } });
    const c = await as('fw3-c');
    const m3 = await c.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: bc.id, seq: m2.seq } });
    await a.chat.delete({ conversationId: ab.id, seq: m1.seq, scope: 'everyone' });
    await b.chat.delete({ conversationId: bc.id, seq: m2.seq, scope: 'everyone' });
    await media().sweep();
    const [x] = attachmentsOf(m3);
    expect((await fetchOf(a, x!.id)).status).toBe(200);
    expect((await fetchOf(a, x!.id, 'thumbnail')).status).toBe(200);
  });

  it('M7 no orphans: the files of a deleted conversation (cascade) leave object storage; files it forwarded elsewhere stay', async () => {
    const [a] = [await as('or1-a'), await as('or1-b'), await as('or1-c')];
    const ab = await a.chat.openDirect({ userId: 'or1-b' });
    const ac = await a.chat.openDirect({ userId: 'or1-c' });
    const kept = await send(a, ab.id, [{ kind: 'image', name: 'kept.png', mime: 'image/png', bytes: img }]);
    const gone = await send(a, ab.id, [{ kind: 'image', name: 'gone.png', mime: 'image/png', bytes: img }, { kind: 'file', name: 'g.pdf', mime: 'application/pdf', bytes: pdf() }]);
    // An upload finalized but never sent, in the same conversation.
    const t = await a.media.requestUpload({ conversationId: ab.id, kind: 'file', name: 'u.pdf', mime: 'application/pdf', size: pdf().length });
    await fetch(abs(t.url), { method: t.method, headers: t.headers, body: new Uint8Array(pdf()) });
    await a.media.finalize({ attachmentId: t.attachmentId });
    const fwd = await a.chat.send({ conversationId: ac.id, clientId: cid(), forward: { conversationId: ab.id, seq: kept.seq } });
    const ids = [...attachmentsOf(kept), ...attachmentsOf(gone)].map((x) => x.id).concat(t.attachmentId);
    const before = (await keys()).filter((k) => ids.some((id) => k.startsWith(`m/${id}/`)));
    expect(before).toHaveLength(6); // 2 images with their thumbnails, 2 PDFs

    // The conversation goes with its messages and attachment rows by cascade (no media code runs).
    await db().execute(sql`delete from conversations where id = ${ab.id}`);
    await media().reconcile();
    const [k] = attachmentsOf(kept);
    const after = (await keys()).filter((key) => ids.some((id) => key.startsWith(`m/${id}/`)));
    expect(after).toEqual([`m/${k!.id}/o`, `m/${k!.id}/t`]);
    expect((await fetchOf(await as('or1-c'), attachmentsOf(fwd)[0]!.id)).status).toBe(200);
  });

  it('M7 no orphans: files of messages removed or blanked by other paths are removed at the next reconcile', async () => {
    const [a] = [await as('or2-a'), await as('or2-b')];
    const ab = await a.chat.openDirect({ userId: 'or2-b' });
    const removed = await send(a, ab.id, [{ kind: 'file', name: 'r.pdf', mime: 'application/pdf', bytes: pdf() }]);
    const blanked = await send(a, ab.id, [{ kind: 'file', name: 'b.pdf', mime: 'application/pdf', bytes: pdf() }]);
    const tombstoned = await send(a, ab.id, [{ kind: 'file', name: 't.pdf', mime: 'application/pdf', bytes: pdf() }]);
    const alive = await send(a, ab.id, [{ kind: 'file', name: 'a.pdf', mime: 'application/pdf', bytes: pdf() }]);
    const id = (m: { payload: unknown }) => attachmentsOf(m)[0]!.id;
    // A retention job deleting rows, a moderation path blanking the payload, a deletion that only sets deleted_at.
    await db().execute(sql`delete from messages where conversation_id = ${ab.id} and seq = ${removed.seq}`);
    await db().execute(sql`update messages set payload = null, text = 'deleted user' where conversation_id = ${ab.id} and seq = ${blanked.seq}`);
    await db().execute(sql`update messages set deleted_at = now() where conversation_id = ${ab.id} and seq = ${tombstoned.seq}`);
    // And an object nobody knows about (a row removed by hand, a crash between steps).
    await srv.app.services.storage.put('m/att_lost/o', Buffer.from('lost'), { contentType: 'text/plain' });

    const r = await media().reconcile();
    expect(r.scheduled).toBeGreaterThanOrEqual(3);
    for (const m of [removed, blanked, tombstoned]) expect(await keys(`m/${id(m)}/`)).toEqual([]);
    expect(await keys('m/att_lost/')).toEqual([]);
    expect(await keys(`m/${id(alive)}/`)).toEqual([`m/${id(alive)}/o`]);
    expect((await fetchOf(await as('or2-b'), id(alive))).status).toBe(200);
    // A second pass finds nothing more to do.
    expect(await media().reconcile()).toEqual({ scheduled: 0, orphans: 0 });
  });

  it('M7: reconcile leaves uploads in flight alone: a pending upload and an unsent finalized one keep their objects', async () => {
    const [a] = [await as('or3-a'), await as('or3-b')];
    const ab = await a.chat.openDirect({ userId: 'or3-b' });
    const t1 = await a.media.requestUpload({ conversationId: ab.id, kind: 'image', name: 'p.png', mime: 'image/png', size: img.length });
    await fetch(abs(t1.url), { method: t1.method, headers: t1.headers, body: new Uint8Array(img) });
    const t2 = await a.media.requestUpload({ conversationId: ab.id, kind: 'image', name: 'q.png', mime: 'image/png', size: img.length });
    await fetch(abs(t2.url), { method: t2.method, headers: t2.headers, body: new Uint8Array(img) });
    await a.media.finalize({ attachmentId: t2.attachmentId });
    await media().reconcile();
    expect(await keys(`m/${t1.attachmentId}/`)).toEqual([`m/${t1.attachmentId}/o`]);
    expect(await keys(`m/${t2.attachmentId}/`)).toEqual([`m/${t2.attachmentId}/o`, `m/${t2.attachmentId}/t`]);
    const sent = await a.chat.send({ conversationId: ab.id, clientId: cid(), attachmentIds: [(await a.media.finalize({ attachmentId: t1.attachmentId })).id] });
    expect(sent.kind).toBe('image');
  });
});
