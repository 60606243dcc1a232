/** Uploads never finalized (or never sent) expire by a durable sweep: due times in the database. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.ts';
import { callerFor, codeOf } from './caller.ts';
import { dbKinds, startTestServer, type TestServer } from './harness.ts';
import { png } from './media-fixtures.ts';

describe.each(dbKinds)('media lifecycle on %s', (db) => {
  const clock = manualClock(new Date());
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ db, env: { MEDIA_UPLOAD_TTL_SECONDS: '600', MEDIA_SWEEP_MS: '3600000' }, app: { clock } });
  });
  afterAll(() => srv.close());

  it('removes an upload that was never finalized, and one finalized but never sent, once due; sent ones stay', async () => {
    const a = await callerFor(srv.app.services, 'life-a');
    await callerFor(srv.app.services, 'life-b');
    const conv = await a.chat.openDirect({ userId: 'life-b' });
    const bytes = await png(64, 64);
    const up = async () => {
      const t = await a.media.requestUpload({ conversationId: conv.id, kind: 'image', name: 'p.png', mime: 'image/png', size: bytes.length });
      expect((await fetch(new URL(t.url, srv.url), { method: t.method, headers: t.headers, body: new Uint8Array(bytes) })).status).toBe(200);
      return t.attachmentId;
    };
    const abandoned = await up();
    const unsent = await up();
    await a.media.finalize({ attachmentId: unsent });
    const sent = await up();
    await a.media.finalize({ attachmentId: sent });
    await a.chat.send({ conversationId: conv.id, clientId: 'life-msg-0000001', attachmentIds: [sent] });

    expect(await srv.app.services.media.sweep()).toBe(0); // nothing due yet
    clock.advance(20 * 60_000);
    expect(await srv.app.services.media.sweep()).toBe(2);
    const st = srv.app.services.storage;
    expect(await st.stat(`m/${abandoned}/o`)).toBeNull();
    expect(await st.stat(`m/${unsent}/o`)).toBeNull();
    expect(await st.stat(`m/${unsent}/t`)).toBeNull();
    expect(await st.stat(`m/${sent}/o`)).not.toBeNull();
    expect(await codeOf(a.media.finalize({ attachmentId: abandoned }))).toBe('media.not_found');
    expect(await srv.app.services.media.usage('life-a')).toEqual([{ userId: 'life-a', files: 1, bytes: expect.any(Number) }]);
  });

  it('refuses an expired upload URL (media.url_expired) and stores nothing', async () => {
    const a = await callerFor(srv.app.services, 'life-c');
    await callerFor(srv.app.services, 'life-d');
    const conv = await a.chat.openDirect({ userId: 'life-d' });
    const t = await a.media.requestUpload({ conversationId: conv.id, kind: 'file', name: 'a.txt', mime: 'text/plain', size: 5 });
    clock.advance(16 * 60_000);
    const res = await fetch(new URL(t.url, srv.url), { method: t.method, headers: t.headers, body: 'hello' });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe('media.url_expired');
    expect(await srv.app.services.storage.stat(`m/${t.attachmentId}/o`)).toBeNull();
  });
});
