import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { createLogger } from '../src/core/logger.ts';
import { callerFor, codeOf } from './caller.ts';
import { openTestDatabase, services, testConfig } from './harness.ts';
import { connectSocket } from './ws-client.ts';

/** Two instances in this process, one PostgreSQL database and one Redis (each instance has its own bus connection). */
describe.skipIf(!services.postgres || !services.redis)('suspensions across two instances (PostgreSQL + Redis)', () => {
  const apps: SohbetApp[] = [];
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const db = await openTestDatabase('postgres');
    cleanup = db.cleanup;
    const config = testConfig({ ...db.env, REDIS_URL: services.redis! });
    for (let i = 0; i < 2; i++) {
      const app = await buildApp(config, { log: createLogger(config.log.level), database: db.database });
      await app.http.listen({ host: '127.0.0.1', port: 0 });
      apps.push(app);
    }
  }, 120_000);
  afterAll(async () => {
    for (const a of apps) await a.close();
    await cleanup?.();
  });
  const wsUrl = (a: SohbetApp) => `ws://127.0.0.1:${(a.http.server.address() as { port: number }).port}/ws`;

  it('a suspension decided on one instance closes the user’s socket on the other, and both refuse the token until lifted', async () => {
    const [one, two] = apps as [SohbetApp, SohbetApp];
    const token = async () => {
      await one.services.conversations.upsertUser({ id: 'mi-seller', name: 'Seller', avatarUrl: null, roles: [] });
      return one.services.auth.mint({ id: 'mi-seller' });
    };
    // Instance two has verified this user recently (its cache says "not suspended").
    expect(await codeOf((await callerFor(two.services, 'mi-seller')).users.me())).toBe('no error');
    const socket = connectSocket(wsUrl(two), await token());
    await socket.ready();
    const mod = await callerFor(one.services, 'mi-mod', { roles: ['moderator'] });
    await mod.safety.suspend({ userId: 'mi-seller', reason: 'scam ring' });
    // Within a few seconds: the bus message, not the 15 s re-check of connected users.
    await expect.poll(() => socket.closes[0], { timeout: 3000 }).toEqual({ code: 4403, reason: 'auth.suspended' });
    await socket.close();
    expect(await codeOf((await callerFor(two.services, 'mi-seller')).users.me())).toBe('auth.suspended');
    expect(await codeOf((await callerFor(one.services, 'mi-seller')).users.me())).toBe('auth.suspended');

    await (await callerFor(one.services, 'mi-admin', { roles: ['admin'] })).safety.lift({ userId: 'mi-seller' });
    await expect.poll(async () => codeOf((await callerFor(two.services, 'mi-seller')).users.me()), { timeout: 10_000 }).toBe('no error');
    const again = connectSocket(wsUrl(two), await token());
    await again.ready();
    await again.close();
  }, 60_000);
});
