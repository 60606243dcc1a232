#!/usr/bin/env node
/**
 * Finds what stalls the event loop of an idle embedded server (PGlite + local disk), run with
 * `node --import tsx bench/loop-probe.mjs [--seconds=70] [--threshold=20]`.
 * Builds the app as bench/media.mjs does, then for the whole window records: every gap of a 5 ms
 * timer above the threshold, each gap's main-thread on-CPU vs run-queue wait (from
 * /proc/self/task/<pid>/schedstat, so a stall caused by other processes on a shared box shows
 * as wait, not as our work), synchronous file calls on the main thread, every periodic job's run
 * (wall time), and GC pauses. PGlite runs in its own worker thread (db/pglite-client.ts), so its
 * statements no longer appear here. `--uploads` then runs bench/media.mjs's 20 concurrent 10 MB uploads and their finalize. Prints each gap with what ran in it, and per-statement and per-job totals.
 */
import { periodicJobs } from './lib/periodic-jobs.mjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { buildApp } from '../packages/server/src/app.ts';
import { parseConfig } from '../packages/server/src/config/config.ts';

const arg = (k, d) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const SECONDS = arg('seconds', 70);
const THRESHOLD = arg('threshold', 20);
const UPLOADS = process.argv.includes('--uploads');
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---- synchronous file calls on this thread (none expected on the server's path)
const syncIo = [];
{
  const { createRequire } = await import('node:module');
  const fsMod = createRequire(import.meta.url)('node:fs');
  for (const name of ['writeSync', 'readSync', 'openSync', 'closeSync', 'ftruncateSync', 'fstatSync', 'lstatSync']) {
    const f = fsMod[name];
    fsMod[name] = function (...a) {
      const t0 = performance.now();
      try {
        return f.apply(this, a);
      } finally {
        const dur = performance.now() - t0;
        if (dur > 1) syncIo.push({ t0, dur, name });
      }
    };
  }
}

// ---- GC pauses
const gcs = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ t0: e.startTime, dur: e.duration, kind: e.detail?.kind });
}).observe({ entryTypes: ['gc'] });

const schedPath = `/proc/self/task/${process.pid}/schedstat`;
const sched = () => {
  const [run, wait] = readFileSync(schedPath, 'utf8').split(' ').map(Number);
  return { run: run / 1e6, wait: wait / 1e6 };
};

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-loop-probe-'));
const config = parseConfig({ NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: dataDir, AUTH_JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef', MEDIA_MAX_FILE_MB: '25' });
const app = await buildApp(config);
await app.http.listen({ host: '127.0.0.1', port: 0 });
const s = app.services;

// --simulate-guards: measures a change proposed for support/ and calls/ (not applied there): each
// 1 s sweep first asks one cheap question, "is there anything it could act on?", and stops when not.
if (process.argv.includes('--simulate-guards')) {
  const { sql } = await import('drizzle-orm');
  const db = s.database.db;
  const one = async (q) => Boolean(Object.values((await db.execute(q)).rows[0])[0]);
  const supportSweep = s.support.sweep.bind(s.support);
  s.support.sweep = async () => {
    const busy = await one(sql`select exists(select 1 from support_chats where state <> 'resolved')
      or exists(select 1 from support_operators where (disconnected_at is null and seen_at is not null) or (disconnected_at is not null and active_chats > 0))`);
    if (busy) await supportSweep();
  };
  const callsSweep = s.calls.sweep.bind(s.calls);
  s.calls.sweep = async () => {
    const busy = await one(sql`select exists(select 1 from calls where state <> 'ended') or exists(select 1 from call_recordings where status = 'recording')`);
    return busy ? callsSweep() : 0;
  };
}

// ---- periodic jobs: wrap each so its runs are timed (wall)
const jobs = new Map();
const jobRuns = [];
function wrap(name, obj, method) {
  const fn = obj[method].bind(obj);
  obj[method] = async (...a) => {
    const t0 = performance.now();
    try {
      return await fn(...a);
    } finally {
      const j = jobs.get(name) ?? { runs: 0, wallMs: [] };
      j.runs++;
      j.wallMs.push(performance.now() - t0);
      jobs.set(name, j);
      jobRuns.push({ t0, t1: performance.now(), name });
    }
  };
}
for (const j of periodicJobs(app)) wrap(j.name, j.obj, j.method);

// ---- what the main thread is blocked in: a worker samples /proc/self/task/<pid>/{stat,syscall,wchan} every ms
const blocked = [];
{
  const { Worker } = await import('node:worker_threads');
  const sampler = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads'); const fs = require('node:fs');
    const dir = '/proc/self/task/' + workerData.pid + '/'; const out = [];
    setInterval(() => {
      try {
        const st = fs.readFileSync(dir + 'stat', 'utf8'); const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
        if (state !== 'R') out.push({ t: performance.timeOrigin + performance.now() - workerData.origin, state, sys: fs.readFileSync(dir + 'syscall', 'utf8').split(' ')[0], wchan: fs.readFileSync(dir + 'wchan', 'utf8') });
      } catch {}
      if (out.length > 200) parentPort.postMessage(out.splice(0));
    }, 1);`,
    { eval: true, workerData: { pid: process.pid, origin: performance.timeOrigin } },
  );
  sampler.on('message', (xs) => blocked.push(...xs));
  sampler.unref();
}

const gaps = [];
let last = performance.now();
let lastSched = sched();
const t = setInterval(() => {
  const now = performance.now();
  const sc = sched();
  const gap = now - last - 5;
  if (gap > THRESHOLD) gaps.push({ t0: last, t1: now, gap, runMs: sc.run - lastSched.run, waitMs: sc.wait - lastSched.wait });
  last = now;
  lastSched = sc;
}, 5);
// --profile=<file>: a CPU profile of the measured window only (startup excluded).
const PROFILE = process.argv.find((a) => a.startsWith('--profile='))?.split('=')[1];
let session = null;
if (PROFILE) {
  const { Session } = await import('node:inspector/promises');
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}
const tStart = performance.now();
const sc0 = sched();
console.log(`idle for ${SECONDS} s, load average ${os.loadavg().map((x) => round(x, 2)).join(' ')}`);
await new Promise((r) => setTimeout(r, SECONDS * 1000));
if (UPLOADS) {
  // Then the benchmark's 20 concurrent 10 MB uploads (signed PUTs from a client process) and their finalize.
  const { uploadFromClients } = await import('./media-upload-worker.mjs');
  await s.conversations.upsertUser({ id: 'bench-a', name: 'A', avatarUrl: null, roles: [] });
  await s.conversations.upsertUser({ id: 'bench-b', name: 'B', avatarUrl: null, roles: [] });
  const conv = await s.conversations.openDirect('bench-a', { userId: 'bench-b' });
  const SIZE = 10 * 1024 * 1024;
  const tickets = [];
  for (let i = 0; i < 20; i++) tickets.push(await s.media.requestUpload('bench-a', { conversationId: conv.id, kind: 'file', name: `doc-${i}.pdf`, mime: 'application/pdf', size: SIZE }));
  const base = `http://127.0.0.1:${app.http.server.address().port}`;
  console.log(`uploads start at +${round((performance.now() - tStart) / 1000, 2)} s`);
  await uploadFromClients({ base, tickets, size: SIZE });
  console.log(`uploads done at +${round((performance.now() - tStart) / 1000, 2)} s`);
  await Promise.all(tickets.map((tk) => s.media.finalize('bench-a', tk.attachmentId)));
  console.log(`finalized at +${round((performance.now() - tStart) / 1000, 2)} s`);
}
clearInterval(t);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(PROFILE, JSON.stringify(profile));
}
const sc1 = sched();
const tEnd = performance.now();

for (const g of gaps) {
  const gc = gcs.filter((c) => c.t0 + c.dur > g.t0 && c.t0 < g.t1).reduce((a, c) => a + c.dur, 0);
  const io = syncIo.filter((c) => c.t0 + c.dur > g.t0 && c.t0 < g.t1);
  const jobsIn = [...new Set(jobRuns.filter((r) => r.t1 > g.t0 && r.t0 < g.t1).map((r) => r.name))];
  console.log(`gap ${round(g.gap)} ms at +${round((g.t0 - tStart) / 1000, 2)} s: main thread on CPU ${round(g.runMs)} ms, waiting for a CPU ${round(g.waitMs)} ms; GC ${round(gc)} ms; jobs running: ${jobsIn.join(', ') || 'none'}`);
  const bl = blocked.filter((b) => b.t > g.t0 && b.t < g.t1);
  if (bl.length) {
    const c = new Map();
    for (const b of bl) c.set(`${b.state} syscall ${b.sys} in ${b.wchan}`, (c.get(`${b.state} syscall ${b.sys} in ${b.wchan}`) ?? 0) + 1);
    console.log(`    main thread not running (1 ms samples): ${[...c].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`).join(', ')}`);
  }
  if (io.length) console.log(`    sync file calls > 1 ms: ${io.map((c) => `${c.name} ${round(c.dur)}ms`).join(', ')}`);
}
console.log(`\n${gaps.length} gaps > ${THRESHOLD} ms in ${round((tEnd - tStart) / 1000)} s; main thread on CPU ${round(sc1.run - sc0.run)} ms, waiting ${round(sc1.wait - sc0.wait)} ms; load ${os.loadavg().map((x) => round(x, 2)).join(' ')}`);
console.log('\njobs (runs, wall median/max ms):');
for (const [k, j] of jobs) {
  const w = [...j.wallMs].sort((a, b) => a - b);
  console.log(`  ${k}: ${j.runs} runs, wall median ${round(w[Math.floor(w.length / 2)])} max ${round(w[w.length - 1])}`);
}
const ioIn = syncIo.filter((c) => c.t0 >= tStart);
console.log(`\nsynchronous file calls > 1 ms on this thread: ${ioIn.length}, total ${round(ioIn.reduce((a, c) => a + c.dur, 0))} ms, max ${round(Math.max(0, ...ioIn.map((c) => c.dur)))} ms`);
const gcIn = gcs.filter((c) => c.t0 >= tStart);
console.log(`\nGC in the window: ${gcIn.length} pauses, total ${round(gcIn.reduce((a, c) => a + c.dur, 0))} ms, max ${round(Math.max(0, ...gcIn.map((c) => c.dur)))} ms; over 10 ms: ${gcIn.filter((c) => c.dur > 10).map((c) => `${round(c.dur)} ms (kind ${c.kind}) at +${round((c.t0 - tStart) / 1000, 2)} s`).join(', ')}`);
const mu = process.memoryUsage();
console.log(`memory: rss ${round(mu.rss / 1e6)} MB, heap used ${round(mu.heapUsed / 1e6)} MB of ${round(mu.heapTotal / 1e6)}, external ${round(mu.external / 1e6)} MB, array buffers ${round(mu.arrayBuffers / 1e6)} MB`);
await app.close();
