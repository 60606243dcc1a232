import { beforeAll, describe, expect, it } from 'vitest';
import { eq, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { compilePlain, pgTextArray, rows } from '../src/db/db.ts';
import { users } from '../src/db/schema.ts';
import { dbKinds, useTestDatabase } from './harness.ts';

/**
 * `rows()` compiles plain raw SQL itself instead of through Drizzle's builder (db.ts). These tests
 * pin that path to Drizzle's: the same text and parameters for every shape of raw SQL the server
 * builds, the same rows (types, dates as text, JSON, bigint) on PGlite and PostgreSQL, the same
 * error a caller inspects, and Drizzle's own path for SQL that holds columns or tables.
 */
const dialect = new PgDialect();
const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
const shapes: Array<[string, SQL]> = [
  ['text only', sql`select 1`],
  ['values', sql`select ${1}, ${'a "b"'}, ${null}, ${true}, ${at}, ${3.5}`],
  ['nested fragments', sql`with a as (${sql`select ${'x'} as v`}), b as (${sql`select ${2} as w ${sql``}`}) select * from a, b where ${sql`v = ${'x'}`}`],
  ['identifier and raw', sql`select ${sql.identifier('we"ird')} from ${sql.raw('users')} as ${sql.raw('u')} where id = ${'u1'}`],
  ['join', sql`select ${sql.join([sql`${1}`, sql`${2}`, sql`${'three'}`], sql`, `)}`],
  ['array list', sql`select * from users where id in ${['a', 'b', 'c']}`],
  ['undefined chunk', sql`select 1${undefined}`],
  ['text array literal', sql`select ${pgTextArray(['a', 'b"c', 'd\\e'])}::text[]`],
  ['json param', sql`select ${JSON.stringify({ a: [1, 'ü'] })}::jsonb`],
  ['many params', sql`select ${sql.join(Array.from({ length: 40 }, (_, i) => sql`${i}`), sql`, `)}`],
];

describe('raw SQL compiled by rows() (db.ts)', () => {
  it.each(shapes)('%s: the same text and parameters as Drizzle', (_name, q) => {
    const ours = compilePlain(q);
    const theirs = dialect.sqlToQuery(q);
    expect(ours).not.toBeNull();
    expect(ours!.text).toBe(theirs.sql);
    expect(ours!.params).toEqual(theirs.params);
  });

  it('leaves SQL holding columns, tables or inlined params to Drizzle', () => {
    expect(compilePlain(sql`select ${users.id} from ${users}`)).toBeNull();
    expect(compilePlain(sql`select 1 where ${eq(users.id, 'x')}`)).toBeNull();
    expect(compilePlain(sql`select ${sql`${'x'}`.inlineParams()}`)).toBeNull();
  });
});

describe.each(dbKinds)('rows() on %s', (kind) => {
  const { db } = useTestDatabase(kind);
  beforeAll(async () => {
    await db().insert(users).values({ id: 'r1', name: 'Röw "one"', roles: ['operator'], lastSeenAt: at });
  });

  const viaDrizzle = async (q: SQL) => ((await db().execute(q)) as unknown as { rows: unknown[] }).rows;

  it('returns the rows Drizzle returns: timestamps, dates and intervals as text, JSON parsed, bigint as number, arrays', async () => {
    const q = sql`select id, name, roles, last_seen_at, created_at is not null as has_created,
                         ${at.toISOString()}::timestamptz as ts, '2026-01-02'::date as d, interval '90 minutes' as iv,
                         ${'{"a":[1,"ü"]}'}::jsonb as j, 9007199254740::bigint as big, array[${at.toISOString()}::timestamptz] as tss,
                         ${pgTextArray(['x', 'y z'])}::text[] as arr, ${null}::text as nothing
                  from users where id = ${'r1'}`;
    const ours = await rows<Record<string, unknown>>(db(), q);
    expect(compilePlain(q)).not.toBeNull();
    expect(ours).toEqual(await viaDrizzle(q));
    expect(ours[0]).toMatchObject({ id: 'r1', name: 'Röw "one"', roles: ['operator'], j: { a: [1, 'ü'] }, big: 9007199254740, arr: ['x', 'y z'], nothing: null });
    expect(typeof ours[0]!.ts).toBe('string');
  });

  it('runs inside a transaction on the transaction connection', async () => {
    await db().transaction(async (tx) => {
      await rows(tx, sql`update users set name = ${'inside'} where id = ${'r1'}`);
      expect(await rows(tx, sql`select name from users where id = ${'r1'}`)).toEqual([{ name: 'inside' }]);
      tx.rollback();
    }).catch((e: Error) => expect(e.message).toMatch(/rollback/i));
    expect(await rows(db(), sql`select name from users where id = ${'r1'}`)).toEqual([{ name: 'Röw "one"' }]);
  });

  it('fails as Drizzle fails: the PostgreSQL error code on the cause, nothing written', async () => {
    const q = sql`insert into users (id, name) values (${'r1'}, ${'dup'})`;
    const ours = await rows(db(), q).catch((e: unknown) => e as { cause?: { code?: string }; message: string });
    const theirs = await viaDrizzle(q).catch((e: unknown) => e as { cause?: { code?: string }; message: string });
    expect(ours).toBeInstanceOf(Error);
    expect((ours as { cause?: { code?: string } }).cause?.code).toBe('23505');
    expect((ours as Error).constructor).toBe((theirs as Error).constructor);
    expect((ours as Error).message).toBe((theirs as Error).message);
    expect(await rows(db(), sql`select count(*)::int as n from users where id = ${'r1'}`)).toEqual([{ n: 1 }]);
  });
});
