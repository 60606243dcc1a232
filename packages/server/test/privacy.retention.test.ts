/**
 * Retention (RETENTION_*_DAYS): old messages become tombstones in place (seq kept, G1), old files
 * and call recordings leave object storage, and a run fires once across instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { callRecordings, calls, mediaObjects, messages } from '../src/db/schema.ts';
import { callerFor } from './caller.ts';
import { dbKinds, startTestServer, type TestServer } from './harness.ts';
import { png } from './media-fixtures.ts';

let n = 0;
const cid = () => `ret-${Date.now().toString(36)}-${(n++).toString(36)}`;
const DAY = 86_400_000;

describe.each(dbKinds)('retention on %s', (db) => {
  let srv: TestServer;
  let second: SohbetApp;
  beforeAll(async () => {
    const env = { RETENTION_MESSAGE_DAYS: '30', RETENTION_CALL_RECORDING_DAYS: '7', RETENTION_SWEEP_MS: '3600000' };
    srv = await startTestServer({ db, env });
    // A second instance on the same database and storage, as behind a load balancer.
    second = await buildApp(srv.config, { database: srv.app.services.database, storage: srv.app.services.storage, log: srv.app.services.log });
  }, 60_000);
  afterAll(async () => {
    await second.close();
    await srv.close();
  });

  it('tombstones messages past retention, removes their files and old recordings, keeps recent ones, and runs once across two instances', async () => {
    const a = await callerFor(srv.app.services, 'ret-a');
    const b = await callerFor(srv.app.services, 'ret-b');
    const conv = await a.chat.openDirect({ userId: 'ret-b' });
    const bytes = await png();
    const t = await a.media.requestUpload({ conversationId: conv.id, kind: 'image', name: 'old.png', mime: 'image/png', size: bytes.length });
    await fetch(new URL(t.url, srv.url), { method: t.method, headers: t.headers, body: new Uint8Array(bytes) });
    const att = await a.media.finalize({ attachmentId: t.attachmentId });
    const old1 = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'old text', attachmentIds: [att.id] });
    const old2 = await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'old reply' });
    const fresh = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'recent' });
    const d = srv.app.services.database.db;
    const now = Date.now();
    await d.update(messages).set({ createdAt: new Date(now - 40 * DAY) }).where(inArray(messages.seq, [old1.seq, old2.seq]));
    const [file] = await d.select().from(mediaObjects).where(eq(mediaObjects.id, att.id));
    expect(await srv.app.services.storage.stat(file!.storageKey)).not.toBeNull();

    // Two recordings of one call: one 10 days old (past the 7-day retention), one from today.
    const storage = srv.app.services.storage;
    await d.insert(calls).values({ id: `call-${cid()}`, conversationId: conv.id, callerId: 'ret-a', calleeId: 'ret-b', media: 'audio', provider: 'p2p', state: 'ended', createdAt: new Date(now - 10 * DAY) });
    const [call] = await d.select().from(calls).where(eq(calls.conversationId, conv.id));
    for (const [id, age] of [['rec-old', 10], ['rec-new', 0]] as const) {
      await storage.put(`r/${id}.webm`, Buffer.from('webm bytes'), { contentType: 'video/webm' });
      await d.insert(callRecordings).values({ id, callId: call!.id, userId: 'ret-a', storageKey: `r/${id}.webm`, contentType: 'video/webm', sizeBytes: 10, createdAt: new Date(now - age * DAY) });
    }

    const runs = await Promise.all([srv.app.services.retention.runIfDue(), second.services.retention.runIfDue(), srv.app.services.retention.runIfDue()]);
    const ran = runs.filter((r) => r !== null);
    expect(ran).toHaveLength(1);
    expect(ran[0]!.messages).toBeGreaterThanOrEqual(2);
    expect(ran[0]!.recordings).toBe(1);
    // Not due again until RETENTION_SWEEP_MS has passed, on either instance.
    expect(await second.services.retention.runIfDue()).toBeNull();
    expect(await srv.app.services.retention.runIfDue()).toBeNull();

    const hist = (await b.chat.history({ conversationId: conv.id, limit: 50 })).messages;
    expect(hist.map((m) => m.seq)).toEqual([old1.seq, old2.seq, fresh.seq]);
    expect(hist[0]).toMatchObject({ text: null, payload: null });
    expect(hist[0]!.deletedAt).not.toBeNull();
    expect(hist[1]).toMatchObject({ text: null });
    expect(hist[2]).toMatchObject({ text: 'recent', deletedAt: null });
    expect(await storage.stat(file!.storageKey)).toBeNull();
    expect(await d.select().from(mediaObjects).where(eq(mediaObjects.id, att.id))).toEqual([]);
    expect(await storage.stat('r/rec-old.webm')).toBeNull();
    expect(await storage.stat('r/rec-new.webm')).not.toBeNull();
    expect((await d.select().from(callRecordings).where(eq(callRecordings.callId, call!.id))).map((r) => r.id)).toEqual(['rec-new']);
    // The conversation goes on with the next seq (G1).
    expect((await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'still here' })).seq).toBe(fresh.seq + 1);
  });
});
