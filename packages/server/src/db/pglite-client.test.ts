import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGliteWorkerClient } from './pglite-client.ts';

/** Counts event-loop turns: timers, sockets and requests run only when this advances. */
function loopTurns() {
  let turns = 0;
  let on = true;
  const spin = () => {
    turns++;
    if (on) setImmediate(spin);
  };
  setImmediate(spin);
  return { get turns() { return turns; }, stop: () => void (on = false) };
}

describe('the embedded database in its own thread', () => {
  let client: PGliteWorkerClient;
  beforeAll(async () => {
    client = new PGliteWorkerClient(null);
    await client.waitReady;
    await client.exec('create table t (id serial primary key, v int not null unique)');
  }, 60_000);
  afterAll(() => client.close());

  it('leaves the event loop free while a statement runs', async () => {
    const loop = loopTurns();
    const r = await client.query<{ n: number }>('select count(*)::int as n from generate_series(1, 3000000) g where g % 7 = 0');
    loop.stop();
    expect(r.rows[0]!.n).toBe(428571);
    // On the server's thread a statement is one synchronous block: no turn at all while it runs.
    expect(loop.turns).toBeGreaterThan(10);
  });

  it('runs concurrent statements and transactions in the order they were issued', async () => {
    await client.exec('truncate t');
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 0 ? client.transaction(async (tx) => void (await tx.query('insert into t (v) values ($1)', [i]))) : client.query('insert into t (v) values ($1)', [i]),
      ),
    );
    const r = await client.query<{ v: number }>('select v from t order by id');
    expect(r.rows.map((x) => x.v)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('makes a statement issued during a transaction wait for its commit', async () => {
    await client.exec('truncate t');
    let outside: Promise<number> | undefined;
    await client.transaction(async (tx) => {
      await tx.query('insert into t (v) values (1)');
      outside = client.query<{ n: number }>('select count(*)::int as n from t').then((r) => r.rows[0]!.n);
      await tx.query('insert into t (v) values (2)');
    });
    expect(await outside).toBe(2);
  });

  it("passes Postgres' error fields through and keeps going after a failure or a rollback", async () => {
    await client.exec('truncate t');
    await client.query('insert into t (v) values (7)');
    const err = (await client.query('insert into t (v) values (7)').catch((e: unknown) => e)) as { code?: string; constraint?: string; message: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('23505');
    expect(err.constraint).toBe('t_v_key');
    await expect(
      client.transaction(async (tx) => {
        await tx.query('insert into t (v) values (100)');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await expect(client.transaction(async (tx) => void (await tx.query('select * from no_such_table')))).rejects.toMatchObject({ code: '42P01' });
    const r = await client.query<{ n: number }>('select count(*)::int as n from t');
    expect(r.rows[0]!.n).toBe(1);
  });

  it('applies type parsers on this side (Drizzle keeps timestamps as text) and returns array rows', async () => {
    const at = '2026-12-02 06:00:00+00';
    const typed = await client.query<{ at: unknown }>('select $1::timestamptz as at', [at]);
    expect(typed.rows[0]!.at).toBeInstanceOf(Date);
    const text = await client.query<unknown[]>('select $1::timestamptz as at, 5 as n', [at], { rowMode: 'array', parsers: { 1184: (v) => `text:${v}` } });
    expect(text.rows[0]).toEqual(['text:2026-12-02 06:00:00+00', 5]);
  });
});

describe('the embedded database on disk', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-pglite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps committed rows across a close and reopen', async () => {
    const a = new PGliteWorkerClient(dir);
    await a.waitReady;
    await a.exec('create table kept (v text)');
    await a.transaction(async (tx) => void (await tx.query('insert into kept values ($1)', ['salam'])));
    await a.close();
    const b = new PGliteWorkerClient(dir);
    await b.waitReady;
    expect((await b.query<{ v: string }>('select v from kept')).rows).toEqual([{ v: 'salam' }]);
    await b.close();
  }, 120_000);

  it('fails calls with a clear error once closed, and closing twice is fine', async () => {
    let died = false;
    const c = new PGliteWorkerClient(null, () => void (died = true));
    await c.waitReady;
    await c.close();
    await c.close();
    await expect(c.query('select 1')).rejects.toThrow(/embedded database worker exited/);
    expect(died).toBe(false);
  }, 60_000);

  it('reports a worker that dies on its own, and fails what was waiting instead of hanging', async () => {
    const deaths: Error[] = [];
    const c = new PGliteWorkerClient(null, (err) => deaths.push(err));
    await c.waitReady;
    const waiting = c.query('select pg_sleep(5)');
    await (c as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate(); // as an out-of-memory abort would
    await expect(waiting).rejects.toThrow(/embedded database worker exited/);
    expect(deaths).toHaveLength(1);
    await expect(c.query('select 1')).rejects.toThrow(/embedded database worker exited/);
  }, 60_000);

  it('refuses a value that cannot reach the database thread without leaving it pending', async () => {
    const c = new PGliteWorkerClient(null);
    await c.waitReady;
    await expect(c.query('select $1::text', [() => 1])).rejects.toThrow();
    expect((c as unknown as { pending: Map<number, unknown> }).pending.size).toBe(0);
    expect((await c.query<{ v: string }>('select $1::text as v', ['ok'])).rows[0]!.v).toBe('ok');
    await c.close();
  }, 60_000);
});
