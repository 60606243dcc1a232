/**
 * Account deletion across instances (Redis bus, one database): a deletion made on one instance
 * closes the account's sockets on the other and that instance refuses its tokens at once, without
 * waiting for its cache of active accounts to expire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { anonymousCaller, callerFor, codeOf } from './caller.ts';
import { services, startTestServer, TEST_API_KEY, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

describe.runIf(services.redis)('account deletion across two instances (Redis)', () => {
  let a: TestServer;
  let b: SohbetApp;
  let bWs: string;
  beforeAll(async () => {
    a = await startTestServer({ db: services.postgres ? 'postgres' : 'pglite', env: { REDIS_URL: services.redis! } });
    b = await buildApp(a.config, { database: a.app.services.database, storage: a.app.services.storage, log: a.app.services.log });
    await b.http.listen({ host: '127.0.0.1', port: 0 });
    bWs = `ws://127.0.0.1:${(b.http.server.address() as { port: number }).port}/ws`;
  }, 60_000);
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('closes the sockets on the other instance with 4401 and refuses the token there at once', async () => {
    const peer = await callerFor(a.app.services, 'mi-peer');
    await callerFor(a.app.services, 'mi-gone');
    await peer.chat.openDirect({ userId: 'mi-gone' });
    const token = await a.token('mi-gone');
    // Instance B has seen the account recently (its positive cache is warm) and holds its socket.
    expect(await codeOf(anonymousCaller(b.services, { bearer: token }).chat.list({}))).toBe('no error');
    const sock = connectSocket(bWs, token);
    await sock.ready();

    expect(await anonymousCaller(a.app.services, { apiKey: TEST_API_KEY }).account.deleteUser({ userId: 'mi-gone' })).toMatchObject({ deletedNow: true, sessionsClosed: 0 });
    const end = Date.now() + 5000;
    while (!sock.closes.some((c) => c.code === 4401 && c.reason === 'auth.account_deleted')) {
      if (Date.now() > end) throw new Error(`socket on the other instance not closed: ${JSON.stringify(sock.closes)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await codeOf(anonymousCaller(b.services, { bearer: token }).chat.list({}))).toBe('auth.account_deleted');
    await sock.close();
  });
});
