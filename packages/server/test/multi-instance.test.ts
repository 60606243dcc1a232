import { afterAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { AuthService } from '../src/auth/auth.service.ts';
import { freshPostgres, services, TEST_API_KEY, TEST_SECRET } from './harness.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { connectSocket } from './ws-client.ts';

const auth = new AuthService({ jwtSecret: TEST_SECRET });
const texts = (evs: StreamEvent[]) => evs.flatMap((e) => (e.type === 'chat.message.created' ? [e.data.message.text] : []));

describe.skipIf(!services.postgres || !services.redis)('two server instances sharing PostgreSQL and Redis', () => {
  const procs: ServerProcess[] = [];
  let dropDb: (() => Promise<void>) | null = null;
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await dropDb?.();
  });

  it('clients on different instances exchange messages, receipts, typing and presence', async () => {
    const db = await freshPostgres(services.postgres!);
    dropDb = db.drop;
    const env = { DATABASE_URL: db.url, REDIS_URL: services.redis! };
    const one = await spawnServer(env);
    procs.push(one);
    const two = await spawnServer(env);
    procs.push(two);
    for (const id of ['mi-a', 'mi-b']) {
      await fetch(`${one.url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id, name: id }) });
    }
    const a = connectSocket(one.wsUrl, () => auth.mint({ id: 'mi-a' }));
    const b = connectSocket(two.wsUrl, () => auth.mint({ id: 'mi-b' }));
    await a.ready();
    await b.ready();
    const conv = await a.trpc.chat.openDirect.mutate({ userId: 'mi-b' });
    await b.waitFor((e) => e.type === 'chat.conversation.updated');

    for (let i = 0; i < 20; i++) await a.trpc.chat.send.mutate({ conversationId: conv.id, clientId: `mi-client-${String(i).padStart(4, '0')}`, text: `a${i}` });
    const last = await b.waitFor((e) => e.type === 'chat.message.created' && e.data.message.seq === 20);
    expect(last.type).toBe('chat.message.created');
    expect(texts(b.events)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));

    await b.trpc.chat.markRead.mutate({ conversationId: conv.id, seq: 20 });
    const receipt = await a.waitFor((e) => e.type === 'chat.receipt' && e.data.userId === 'mi-b' && e.data.lastReadSeq === 20);
    expect(receipt.data).toMatchObject({ lastDeliveredSeq: 20 });

    await b.trpc.chat.typing.mutate({ conversationId: conv.id });
    const typing = await a.waitFor((e) => e.type === 'chat.typing');
    expect(typing.data).toMatchObject({ userId: 'mi-b', conversationId: conv.id });

    // Presence is shared: instance one sees the user connected to instance two.
    expect((await a.trpc.users.presence.query({ userIds: ['mi-b'] }))[0]!.online).toBe(true);
    await b.close();
    await a.waitFor((e) => e.type === 'presence.updated' && e.data.userId === 'mi-b' && !e.data.online);

    await a.close();
  });
});
