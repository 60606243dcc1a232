import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

describe('smoke', () => {
  let s: TestServer;
  beforeAll(async () => (s = await startTestServer()));
  afterAll(() => s.close());

  it('delivers a message from buyer to seller over WebSockets', async () => {
    const buyer = connectSocket(s.wsUrl, await s.token('buyer'));
    const seller = connectSocket(s.wsUrl, await s.token('seller'));
    const conv = await buyer.trpc.chat.openDirect.mutate({ userId: 'seller' });
    const sent = await buyer.trpc.chat.send.mutate({ conversationId: conv.id, clientId: 'client-000001', text: 'Salam!' });
    const got = await seller.waitFor((e) => e.type === 'chat.message.created');
    expect(got.type === 'chat.message.created' && got.data.message.text).toBe('Salam!');
    expect(sent.seq).toBe(1);
    await buyer.close();
    await seller.close();
  });
});
