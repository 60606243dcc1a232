/**
 * Backup and restore as the README documents it: fill a PostgreSQL database through the API,
 * `pg_dump -Fc` it, `pg_restore` into a new database, boot a server on that one and find the same
 * conversations, messages and seqs (G1), the same unread counts (G4), idempotent retries of old
 * client ids (G2), and the next message numbered right after the last one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { createDatabase } from '../src/db/db.ts';
import { callerFor } from './caller.ts';
import { freshPostgres, services, startTestServer, testConfig, type TestServer } from './harness.ts';

const pgBin = (name: string) => ['/usr/bin', '/usr/lib/postgresql/15/bin'].map((d) => path.join(d, name)).find((p) => existsSync(p));
const tools = { dump: pgBin('pg_dump'), restore: pgBin('pg_restore') };
const runnable = Boolean(services.postgres && tools.dump && tools.restore);
if (!runnable) console.warn('[backup] skipped: needs TEST_DATABASE_URL and pg_dump/pg_restore');

describe.runIf(runnable)('backup and restore (pg_dump / pg_restore)', () => {
  let srv: TestServer | null = null;
  let restored: SohbetApp | null = null;
  let drop: (() => Promise<void>) | null = null;
  afterAll(async () => {
    await restored?.close();
    await srv?.close();
    await drop?.();
  });

  it('restores every conversation, message and seq, and the restored server continues where the old one stopped', async () => {
    srv = await startTestServer({ db: 'postgres' });
    const a = await callerFor(srv.app.services, 'bk-a');
    const b = await callerFor(srv.app.services, 'bk-b');
    await callerFor(srv.app.services, 'bk-c');
    const direct = await a.chat.openDirect({ userId: 'bk-b', context: { type: 'listing', id: 'L1', title: 'iPhone 13 Pro' } });
    const group = await a.chat.createGroup({ title: 'Ailə', memberIds: ['bk-b', 'bk-c'] });
    for (let i = 1; i <= 12; i++) {
      await (i % 3 ? a : b).chat.send({ conversationId: direct.id, clientId: `backup-d-${i}`, text: `mesaj ${i}` });
      if (i % 4 === 0) await b.chat.send({ conversationId: group.id, clientId: `backup-g-${i}`, text: `qrup ${i}` });
    }
    await a.chat.delete({ conversationId: direct.id, seq: 2, scope: 'everyone' });
    await a.chat.edit({ conversationId: direct.id, seq: 4, text: 'mesaj 4 (düzəliş)' });
    const before = {
      direct: (await a.chat.history({ conversationId: direct.id, limit: 100 })).messages,
      group: (await b.chat.history({ conversationId: group.id, limit: 100 })).messages,
      listA: await a.chat.list({}),
      listB: await b.chat.list({}),
    };
    expect(before.direct.length).toBeGreaterThanOrEqual(12);

    const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-backup-'));
    const dumpFile = path.join(dir, 'sohbet.dump');
    const source = srv.config.db.kind === 'postgres' ? srv.config.db.url : '';
    execFileSync(tools.dump!, ['--format=custom', '--no-owner', `--file=${dumpFile}`, `--dbname=${source}`], { stdio: 'pipe' });
    const target = await freshPostgres(services.postgres!);
    drop = target.drop;
    execFileSync(tools.restore!, ['--no-owner', '--exit-on-error', `--dbname=${target.url}`, dumpFile], { stdio: 'pipe' });

    // A server on the restored database: the migrations are already recorded there (nothing re-applied).
    const config = testConfig({ DATABASE_URL: target.url });
    const database = await createDatabase(config.db);
    restored = await buildApp(config, { database });
    const a2 = await callerFor(restored.services, 'bk-a');
    const b2 = await callerFor(restored.services, 'bk-b');
    const after = {
      direct: (await a2.chat.history({ conversationId: direct.id, limit: 100 })).messages,
      group: (await b2.chat.history({ conversationId: group.id, limit: 100 })).messages,
      listA: await a2.chat.list({}),
      listB: await b2.chat.list({}),
    };
    expect(after.direct).toEqual(before.direct);
    expect(after.group).toEqual(before.group);
    expect(after.listA).toEqual(before.listA);
    expect(after.listB.map((c) => [c.id, c.unreadCount, c.lastSeq])).toEqual(before.listB.map((c) => [c.id, c.unreadCount, c.lastSeq]));
    expect(after.direct[1]!.deletedAt).not.toBeNull();
    expect(after.direct[3]!.text).toBe('mesaj 4 (düzəliş)');

    // It continues: a retry of an old client id returns the stored message (G2), a new one gets the next seq (G1).
    const lastSeq = before.direct.at(-1)!.seq;
    const retry = await b2.chat.send({ conversationId: direct.id, clientId: 'backup-d-12', text: 'mesaj 12' });
    expect(retry.seq).toBe(before.direct.find((m) => m.clientId === 'backup-d-12')!.seq);
    const next = await b2.chat.send({ conversationId: direct.id, clientId: 'backup-d-13', text: 'bərpadan sonra' });
    expect(next.seq).toBe(lastSeq + 1);
    const g = await b2.chat.send({ conversationId: group.id, clientId: 'backup-g-13', text: 'qrup bərpadan sonra' });
    expect(g.seq).toBe(before.group.at(-1)!.seq + 1);
    expect((await a2.chat.list({})).find((c) => c.id === direct.id)!.unreadCount).toBe(before.listA.find((c) => c.id === direct.id)!.unreadCount + 1);
  }, 120_000);
});
