import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshPostgres, services } from './harness.ts';
import { FakeProviders, providerEnv } from './notify-fakes.ts';
import { freePort, spawnServer, type ServerProcess } from './process.ts';

const until = async (cond: () => boolean | Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.skipIf(!services.postgres)('notification worker killed mid-batch and restarted (PostgreSQL, real server process)', () => {
  const procs: ServerProcess[] = [];
  const fakes = new FakeProviders();
  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await fakes.close();
  });

  it('G6: kill -9 mid-batch, restart: every notification reaches the provider exactly once (idempotency key), none lost', async () => {
    await fakes.start();
    fakes.delayMs = 25; // keep requests in flight when the process dies
    const db = await freshPostgres(services.postgres!);
    const env = {
      ...providerEnv(fakes),
      DATABASE_URL: db.url,
      NOTIFY_WORKER_MS: '50',
      NOTIFY_BATCH: '40',
      NOTIFY_CONCURRENCY: '8',
      NOTIFY_LEASE_SECONDS: '2',
      DATA_DIR: `/tmp/sohbet-notify-restart-${process.pid}`,
    };
    const port = await freePort();
    let server = await spawnServer(env, port);
    procs.push(server);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const total = 400;
      // Rows as the rules write them (missed-call emails); inserted in one statement so they are all due at once.
      await client.query(
        `insert into notify_outbox (idempotency_key, user_id, kind, channel, target, priority, payload, next_attempt_at, created_at, updated_at)
         select 'crash:' || i, 'user-' || i, 'missed_call', 'email', 'user' || i || '@example.test', 'normal',
                jsonb_build_object('type', 'missed_call', 'callId', 'call-' || i, 'conversationId', 'c-' || i, 'callerName', 'Aysel', 'media', 'audio'),
                now() - interval '1 second', now(), now()
         from generate_series(1, $1::int) as i`,
        [total],
      );
      // Killed from inside the provider's answer: part of a claimed batch is accepted at the provider, not yet in the database.
      const killed = new Promise<number>((resolve) => {
        fakes.onResend = (n) => {
          if (n !== 100) return;
          server.proc.kill('SIGKILL');
          fakes.onResend = null;
          resolve(n);
        };
      });
      const atKill = await killed;
      await server.stop('SIGKILL');
      expect(atKill).toBeLessThan(total); // really mid-way
      server = await spawnServer(env, port);
      procs.push(server);
      await until(async () => (await client.query(`select count(*)::int as n from notify_outbox where state = 'accepted'`)).rows[0].n === total, 60_000);

      expect(fakes.resendKeys.size).toBe(total); // every notification reached the provider…
      const attempts = fakes.of('resend').length;
      expect(attempts - fakes.resendDuplicates).toBe(total); // …and exactly once after its idempotency-key dedupe
      const r = await client.query(`select idempotency_key as k, provider_id as p, state from notify_outbox order by id`);
      for (const row of r.rows) expect(row.p).toBe(fakes.resendKeys.get(row.k)); // the stored trace names the one email
      // Re-sends are only the rows in flight at the kill (bounded by one claimed batch).
      expect(fakes.resendDuplicates).toBeGreaterThan(0); // the crash really hit a batch between provider and database
      expect(fakes.resendDuplicates).toBeLessThanOrEqual(40);
      console.log(`notify restart: ${total} rows, ${atKill} accepted before kill -9, ${fakes.resendDuplicates} re-sent after restart (deduplicated by Idempotency-Key)`);
    } finally {
      await client.end();
      for (const p of procs) await p.stop('SIGKILL');
      await db.drop();
    }
  }, 120_000);
});
