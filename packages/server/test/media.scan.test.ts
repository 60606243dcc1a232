/** Malware scanning in the upload flow, with a real clamd (CLAMAV_SOCKET set like production). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, codeOf } from './caller.ts';
import { CLAMD, startClamd } from './clamd.ts';
import { startTestServer, type TestServer } from './harness.ts';
import { EICAR, pdf } from './media-fixtures.ts';

describe.skipIf(!CLAMD)('uploads scanned by ClamAV', () => {
  let clamd: Awaited<ReturnType<typeof startClamd>>;
  let srv: TestServer;
  beforeAll(async () => {
    clamd = await startClamd();
    srv = await startTestServer({ env: { CLAMAV_SOCKET: clamd.socket } });
  }, 70_000);
  afterAll(async () => {
    await srv?.close();
    clamd?.stop();
  });

  it('rejects an infected file (media.infected): it is removed and never reaches the other party; clean files pass', async () => {
    const a = await callerFor(srv.app.services, 'scan-a');
    const b = await callerFor(srv.app.services, 'scan-b');
    const conv = await a.chat.openDirect({ userId: 'scan-b' });
    const send = async (name: string, mime: string, bytes: Buffer) => {
      const t = await a.media.requestUpload({ conversationId: conv.id, kind: 'file', name, mime, size: bytes.length });
      await fetch(new URL(t.url, srv.url), { method: t.method, headers: t.headers, body: new Uint8Array(bytes) });
      return t.attachmentId;
    };
    const bad = await send('notes.txt', 'text/plain', Buffer.from(EICAR));
    expect(await codeOf(a.media.finalize({ attachmentId: bad }))).toBe('media.infected');
    expect(await srv.app.services.storage.stat(`m/${bad}/o`)).toBeNull();
    expect(await codeOf(a.chat.send({ conversationId: conv.id, clientId: 'scan-msg-000001', attachmentIds: [bad] }))).toBe('media.not_found');
    expect((await b.chat.history({ conversationId: conv.id, limit: 10 })).messages).toEqual([]);
    const good = await send('invoice.pdf', 'application/pdf', pdf());
    expect((await a.media.finalize({ attachmentId: good })).mime).toBe('application/pdf');
  });
});
