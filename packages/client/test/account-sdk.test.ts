import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, startTestServer, until, type TestServer } from './support.ts';

describe('SDK account: export and deletion against a real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.close());

  it('exports the signed-in user\'s data as JSON (absolute file links), then deletes the account: the client ends unauthenticated', async () => {
    const me = clientFor(s, 'sdk-acc-a');
    const peer = clientFor(s, 'sdk-acc-b');
    await me.connect();
    await peer.connect();
    const conv = await me.chat.openDirect({ userId: 'sdk-acc-b' });
    await me.chat.send({ conversationId: conv.id, text: 'export me' });

    const out = await me.account.export();
    expect(out.profile.id).toBe('sdk-acc-a');
    expect(out.messages.map((m) => m.text)).toContain('export me');
    const { blob, filename } = await me.account.exportBlob();
    expect(filename).toBe('sohbet-export-sdk-acc-a.json');
    expect(JSON.parse(await blob.text()).format).toBe('sohbet.account-export');

    const res = await me.account.delete();
    expect(res).toMatchObject({ userId: 'sdk-acc-a', deletedNow: true, messagesTombstoned: 1 });
    // Deleted for good: the SDK stops instead of reconnecting with fresh tokens forever.
    await until(() => me.status === 'closed');
    expect(me.error?.code).toBe('auth.account_deleted');
    const hist = await peer.chat.history({ conversationId: conv.id });
    expect(hist.messages.at(-1)).toMatchObject({ senderId: 'sdk-acc-a', text: null });
    me.disconnect();
    peer.disconnect();
  });
});
