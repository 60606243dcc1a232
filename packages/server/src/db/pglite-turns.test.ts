import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeTurns } from './pglite-turns.ts';

/** Counts event-loop turns: other work (timers, sockets) gets to run only when this advances. */
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

describe('PGlite statements take turns with the event loop', () => {
  let client: PGlite;
  beforeAll(async () => {
    client = new PGlite();
    await client.waitReady;
    takeTurns(client);
    await client.exec('create table t (id serial primary key, v int not null)');
  });
  afterAll(() => client.close());

  it('lets other work run between the statements of one transaction', async () => {
    const loop = loopTurns();
    const seen: number[] = [];
    await client.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) {
        await tx.query('select $1::int', [i]);
        seen.push(loop.turns);
      }
    });
    loop.stop();
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
  });

  it('lets other work run between statements of concurrent callers queued on the database', async () => {
    const loop = loopTurns();
    const seen: number[] = [];
    await Promise.all(Array.from({ length: 5 }, (_, i) => client.query('select $1::int', [i]).then(() => seen.push(loop.turns))));
    loop.stop();
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
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

  it('keeps going after a failed statement or a rolled-back transaction', async () => {
    await expect(client.query('select * from no_such_table')).rejects.toThrow();
    await expect(client.transaction(async (tx) => {
      await tx.query('insert into t (v) values (100)');
      throw new Error('abort');
    })).rejects.toThrow('abort');
    const r = await client.query<{ n: number }>('select count(*)::int as n from t where v = 100');
    expect(r.rows[0]!.n).toBe(0);
  });
});
