/**
 * Privacy: data export and account deletion, on PGlite and (when reachable) PostgreSQL.
 * Deleted accounts keep everyone else's history ordered (G1): the seqs stay, the text goes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELETED_USER_NAME, type StreamEvent } from '@sohbet/protocol';
import { anonymousCaller, callerFor, codeOf } from './caller.ts';
import { dbKinds, startTestServer, TEST_API_KEY, type TestServer } from './harness.ts';
import { png } from './media-fixtures.ts';
import { connectSocket } from './ws-client.ts';
import { eq } from 'drizzle-orm';
import { mediaObjects } from '../src/db/schema.ts';

let n = 0;
const cid = () => `priv-${Date.now().toString(36)}-${(n++).toString(36)}`;

describe.each(dbKinds)('privacy on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ db });
  }, 60_000);
  afterAll(() => srv.close());

  const as = (u: string, roles: string[] = []) => callerFor(srv.app.services, u, { name: u.toUpperCase(), roles });
  type Caller = Awaited<ReturnType<typeof as>>;
  const abs = (u: string) => new URL(u, srv.url).toString();

  async function sendPhoto(c: Caller, conversationId: string) {
    const bytes = await png();
    const t = await c.media.requestUpload({ conversationId, kind: 'image', name: 'photo.png', mime: 'image/png', size: bytes.length });
    expect((await fetch(abs(t.url), { method: t.method, headers: t.headers, body: new Uint8Array(bytes) })).status).toBeLessThan(300);
    const att = await c.media.finalize({ attachmentId: t.attachmentId });
    const msg = await c.chat.send({ conversationId, clientId: cid(), attachmentIds: [att.id] });
    return { att, msg };
  }

  it('exports profile, conversations, own messages, files with working short-lived links, support chats and notification settings', async () => {
    const a = await as('exp-a');
    const b = await as('exp-b');
    const conv = await a.chat.openDirect({ userId: 'exp-b' });
    await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'Salam, qiymət nədir?' });
    await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'not in the export: written by B' });
    const { att } = await sendPhoto(a, conv.id);
    await a.chat.react({ conversationId: conv.id, seq: 2, emoji: '👍', on: true });
    await a.support.start({ topic: 'orders', text: 'Sifarişim gəlmədi', clientId: cid() });
    await a.notify.registerDevice({ kind: 'expo', token: 'ExponentPushToken[privacyexport000001]' });

    const out = await a.account.export();
    expect(out).toMatchObject({ format: 'sohbet.account-export', version: 1, profile: { id: 'exp-a', name: 'EXP-A' } });
    expect(out.conversations.map((c) => c.id)).toContain(conv.id);
    expect(out.conversations.find((c) => c.id === conv.id)!.members.map((m) => m.userId).sort()).toEqual(['exp-a', 'exp-b']);
    const texts = out.messages.map((m) => m.text);
    expect(texts).toContain('Salam, qiymət nədir?');
    expect(texts).not.toContain('not in the export: written by B');
    expect(out.messages.every((m) => m.conversationId !== conv.id || [1, 3].includes(m.seq) || m.kind === 'system')).toBe(true);
    expect(out.reactions).toEqual([expect.objectContaining({ conversationId: conv.id, seq: 2, emoji: '👍' })]);
    expect(out.supportChats).toEqual([expect.objectContaining({ topic: 'orders', firstMessage: 'Sifarişim gəlmədi' })]);
    expect(out.notifications.devices).toEqual([expect.objectContaining({ kind: 'expo', token: 'ExponentPushToken[privacyexport000001]' })]);
    const file = out.files.find((f) => f.id === att.id)!;
    expect(file).toMatchObject({ name: 'photo.png', mime: 'image/png' });
    const got = await fetch(abs(file.url));
    expect(got.status).toBe(200);
    expect(got.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(Buffer.from(await got.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    expect(new Date(file.urlExpiresAt).getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
  });

  it('deletes an account: tombstones in the same seqs, "Deleted user" for the others, files and devices gone, sockets closed, tokens refused', async () => {
    const a = await as('del-a');
    const b = await as('del-b');
    const conv = await a.chat.openDirect({ userId: 'del-b' });
    const m1 = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'my phone is +994 50 123 45 67' });
    const m2 = await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'thanks, I will call' });
    const { att, msg: m3 } = await sendPhoto(a, conv.id);
    await b.chat.react({ conversationId: conv.id, seq: m1.seq, emoji: '❤️', on: true });
    await a.notify.registerDevice({ kind: 'expo', token: 'ExponentPushToken[privacydelete0000001]' });
    const rows = await srv.app.services.database.db.select().from(mediaObjects).where(eq(mediaObjects.id, att.id));
    const objectKeys = rows.flatMap((r) => [r.storageKey, r.thumbKey]).filter((k): k is string => Boolean(k));
    expect(objectKeys.length).toBeGreaterThan(0);
    for (const k of objectKeys) expect(await srv.app.services.storage.stat(k)).not.toBeNull();

    const tokenA = await srv.token('del-a', { name: 'DEL-A' });
    const sockA = connectSocket(srv.wsUrl, tokenA);
    await sockA.ready();
    const sockB = connectSocket(srv.wsUrl, await srv.token('del-b', { name: 'DEL-B' }));
    await sockB.ready();

    const res = await a.account.delete({ confirm: 'DELETE' });
    expect(res).toMatchObject({ userId: 'del-a', deletedNow: true, messagesTombstoned: 2, filesRemoved: 1, devicesRemoved: 1, sessionsClosed: 1 });

    // Others see the same seqs, the deleted user's entries as tombstones, and the anonymised name.
    const hist = (await b.chat.history({ conversationId: conv.id, limit: 50 })).messages;
    expect(hist.map((m) => m.seq)).toEqual([m1.seq, m2.seq, m3.seq]);
    expect(hist[0]).toMatchObject({ senderId: 'del-a', text: null, payload: null, reactions: [] });
    expect(hist[0]!.deletedAt).not.toBeNull();
    expect(hist[1]).toMatchObject({ text: 'thanks, I will call', deletedAt: null });
    expect(hist[2]).toMatchObject({ senderId: 'del-a', payload: null });
    const seen = await b.chat.get({ conversationId: conv.id });
    expect(seen.members.find((m) => m.userId === 'del-a')).toMatchObject({ name: DELETED_USER_NAME, avatarUrl: null });
    expect(await b.chat.search({ query: "phone" })).toEqual([]);
    await sockB.waitFor((e: StreamEvent) => e.type === 'chat.message.deleted' && e.data.seq === m1.seq);

    // Files gone from object storage; the deleted user's socket closed with 4401.
    for (const k of objectKeys) expect(await srv.app.services.storage.stat(k)).toBeNull();
    await waitUntil(() => sockA.closes.some((c) => c.code === 4401 && c.reason === 'auth.account_deleted'));

    // Every token for that sub is refused from now on, on HTTP, WebSocket and the demo sign-in.
    expect(await codeOf(anonymousCaller(srv.app.services, { bearer: tokenA }).chat.list({}))).toBe('auth.account_deleted');
    expect(await codeOf(anonymousCaller(srv.app.services, { bearer: await srv.app.services.auth.mint({ id: 'del-a' }) }).users.me())).toBe('auth.account_deleted');
    expect(await codeOf(anonymousCaller(srv.app.services).auth.devLogin({ userId: 'del-a' }))).toBe('auth.account_deleted');
    const again = connectSocket(srv.wsUrl, tokenA);
    await waitUntil(() => again.closes.some((c) => c.code === 4401 && c.reason === 'auth.account_deleted'));
    await again.close();
    const http = await fetch(`${srv.url}/trpc/chat.list?input=${encodeURIComponent('{}')}`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(http.status).toBe(401);
    expect(((await http.json()) as { error: { data: { appCode: string } } }).error.data.appCode).toBe('auth.account_deleted');

    // The host backend's upsert does not bring the profile back.
    await anonymousCaller(srv.app.services, { apiKey: TEST_API_KEY }).server.upsertUser({ id: 'del-a', name: 'Resurrected' });
    expect((await b.chat.get({ conversationId: conv.id })).members.find((m) => m.userId === 'del-a')!.name).toBe(DELETED_USER_NAME);

    // The conversation continues for the other side with the next seq (G1).
    const next = await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hello?' });
    expect(next.seq).toBe(m3.seq + 1);
    await sockA.close();
    await sockB.close();
  });

  it('lets the host backend (API key) and admins delete any account, idempotently; other users are forbidden', async () => {
    await as('victim');
    const peer = await as('victim-peer');
    const conv = await peer.chat.openDirect({ userId: 'victim' });
    const v = await as('victim');
    await v.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hi' });
    const stranger = await as('stranger');
    expect(await codeOf(stranger.account.deleteUser({ userId: 'victim' }))).toBe('auth.forbidden');
    expect(await codeOf(stranger.account.exportUser({ userId: 'victim' }))).toBe('auth.forbidden');
    expect(await codeOf(v.account.delete({ confirm: 'yes' as 'DELETE' }))).toBe('input.invalid');
    expect((await peer.chat.history({ conversationId: conv.id })).messages.at(-1)!.text).toBe('hi');

    const server = anonymousCaller(srv.app.services, { apiKey: TEST_API_KEY });
    expect((await server.account.exportUser({ userId: 'victim' })).messages.map((m) => m.text)).toEqual(['hi']);
    expect(await server.account.deleteUser({ userId: 'victim' })).toMatchObject({ deletedNow: true, messagesTombstoned: 1 });
    expect(await server.account.deleteUser({ userId: 'victim' })).toMatchObject({ deletedNow: false, messagesTombstoned: 0 });
    expect(await codeOf(server.account.exportUser({ userId: 'victim' }))).toBe('user.not_found');
    expect(await codeOf(server.account.deleteUser({ userId: 'nobody-ever' }))).toBe('user.not_found');

    await as('victim2');
    const admin = await as('boss', ['admin']);
    expect(await admin.account.deleteUser({ userId: 'victim2' })).toMatchObject({ deletedNow: true });
  });
});

async function waitUntil(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
