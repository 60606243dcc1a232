#!/usr/bin/env node
/**
 * Calls benchmark (issue 5): invite → ringing latency on every callee device at a fixed rate of
 * call setups per second (open loop: each start is sent at its scheduled time whatever happened
 * to the previous ones), on the real server against PostgreSQL. Each setup is a `calls.start`
 * over the caller's WebSocket; the latency is from the intended start time to the
 * `call.updated` (ringing) event on each of the callee's two connected devices. The caller
 * cancels once both devices rang, so lines are free for the pair's next call (a pair is reused
 * every pairs/rate seconds). Target: p99 ≤ 50 ms at 100 setups/s.
 *
 *   node bench/calls.mjs                       # 100 setups/s for 20 s, 500 pairs (1,000 callee devices)
 *   node bench/calls.mjs --rate=100 --seconds=5 --pairs=200 --profile   # --cpu-prof the server; top frames in the report
 *   node bench/calls.mjs --profile-phase       # profile only the measured setups (inspector), not connects or warm-up
 *   node bench/calls.mjs --pg=postgresql://callbench:callbench@127.0.0.1:5432/sohbet --statements   # pg_stat_statements of the phase, this role only
 * Writes bench/results/calls-<date>.json and calls-latest.md (with the machine's load average).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BENCH_RATE_LIMITS, freshDatabase, machineCpu, pgStats, postgresCpu, procSample, ROOT, serverApiBatch, sleep, spawnServer } from './lib/env.mjs';
import { analyzeProfile } from './lib/profile.mjs';
import { closeAll, openConn } from './lib/raw-client.mjs';
import { round, summarize } from './lib/stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pg = require(require.resolve('pg', { paths: [path.join(HERE, '../packages/server')] }));
const argv = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')).map(([k, v]) => [k, v ?? 'true']));
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  rate: Number(argv.rate ?? 100),
  seconds: Number(argv.seconds ?? 20),
  pairs: Number(argv.pairs ?? 500),
  profile: argv.profile === 'true',
  profilePhase: argv['profile-phase'] === 'true',
  // pg_stat_statements of the measured phase, for the --pg role only (reset for that role alone
  // before the phase): run with a role of its own, e.g. --pg=postgresql://callbench:callbench@127.0.0.1:5432/sohbet.
  statements: argv.statements === 'true',
  // Per 250 ms of intended send time: the slowest ringing, to tell stalls (clustered) from queueing (spread).
  timeline: argv.timeline === 'true',
  // Extra flags for the server's node (space-separated), e.g. --node-args="--trace-gc".
  nodeArgs: argv['node-args'] ? argv['node-args'].split(' ').filter(Boolean) : [],
};
/** Resets (before) or reads (after) pg_stat_statements for the bench's own role, in the --pg database. */
async function roleStatements(url, read) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    if (!read) return void (await c.query('select pg_stat_statements_reset((select oid from pg_roles where rolname = current_user))'));
    const r = await c.query(`select calls::int, round(total_exec_time::numeric, 1)::float as total_ms, round(mean_exec_time::numeric, 3)::float as mean_ms,
                                    round(max_exec_time::numeric, 1)::float as max_ms, rows::int, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) as query
                             from pg_stat_statements where userid = (select oid from pg_roles where rolname = current_user) order by total_exec_time desc limit 25`);
    return r.rows;
  } finally {
    await c.end();
  }
}
/** The server's syscalls (read/write families, from /proc/<pid>/io) and its user and system CPU seconds. */
function kernelSample(pid) {
  try {
    const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(/:\s*/)));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { reads: Number(io.syscr), writes: Number(io.syscw), user: Number(f[11]) / 100, sys: Number(f[12]) / 100 };
  } catch {
    return { reads: 0, writes: 0, user: 0, sys: 0 };
  }
}
/** CPU seconds of the PostgreSQL backends serving the bench database (not other databases on a shared box). */
async function benchBackendsCpu(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      /* gone */
    }
  }
  return total;
}
async function benchBackendPids(url, dbName) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName])).rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}
const log = (...a) => console.log(`[calls-bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const db = await freshDatabase(opt.pg);
const profDir = opt.profile ? mkdtempSync(path.join(os.tmpdir(), 'sohbet-calls-prof-')) : null;
const loadBefore = os.loadavg();
const spawnedAt = performance.now();
const server = await spawnServer({
  databaseUrl: db.url,
  nodeArgs: [...opt.nodeArgs, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=500'] : [])],
  // Each bench user starts a call every pairs/rate seconds, far above a person's call.start limit.
  env: { RATE_LIMITS: `${BENCH_RATE_LIMITS},call.start=off` },
});
let reqId = 10;
const pending = new Map();
/** Sends a mutation frame on a raw socket; resolves with its result (or rejects with its error). */
function mutate(conn, p, input) {
  const id = ++reqId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    conn.ws.send(JSON.stringify({ id, method: 'mutation', params: { path: p, input } }));
  });
}
function onReply(s) {
  if (s.startsWith('{"id":1,')) return false;
  const m = /^\{"id":(\d+),/.exec(s);
  const p = m && pending.get(Number(m[1]));
  if (!p) return false;
  pending.delete(Number(m[1]));
  const msg = JSON.parse(s);
  if (msg.error) p.reject(new Error(JSON.stringify(msg.error).slice(0, 200)));
  else p.resolve(msg.result?.data);
  return true;
}

try {
  const callers = Array.from({ length: opt.pairs }, (_, i) => `bc-${i}`);
  const callees = Array.from({ length: opt.pairs }, (_, i) => `be-${i}`);
  await serverApiBatch(server, 'server.upsertUser', [...callers, ...callees].map((id) => ({ id, name: id })));

  const intended = new Map(); // callId -> intended start (performance.now())
  const rang = new Map(); // callId -> devices that rang
  const latencies = [];
  const slowest = new Map(); // callId -> its slower device's latency (--timeline)
  const startAcked = [];
  const onCallee = (s) => {
    if (onReply(s) || !s.includes('"call.updated"')) return;
    const at = performance.now();
    const ev = JSON.parse(s).result?.data?.data;
    const call = ev?.data?.call;
    if (!call || call.state !== 'ringing' || !intended.has(call.id)) return;
    latencies.push(at - intended.get(call.id));
    if (opt.timeline) slowest.set(call.id, Math.max(slowest.get(call.id) ?? 0, at - intended.get(call.id)));
    rang.set(call.id, (rang.get(call.id) ?? 0) + 1);
  };
  const open = (u) => openConn(server.wsUrl, server.token(u), { onFrame: (s) => (u.startsWith('be-') ? onCallee(s) : onReply(s)) });
  log(`opening ${opt.pairs} callers and ${opt.pairs * 2} callee devices`);
  const callerConns = [];
  for (const u of callers) callerConns.push((await open(u)).conn);
  const calleeConns = [];
  for (const u of callees) calleeConns.push((await open(u)).conn, (await open(u)).conn);

  // Warm-up: each pair's direct conversation exists before measuring.
  for (let i = 0; i < opt.pairs; i++) {
    const c = await mutate(callerConns[i], 'calls.start', { callId: `warm-${i}-0000`, deviceId: 'bench', userId: callees[i], video: false });
    await mutate(callerConns[i], 'calls.hangup', { callId: c.id });
  }
  await sleep(500);
  latencies.length = 0;

  const total = opt.rate * opt.seconds;
  log(`${total} call setups at ${opt.rate}/s`);
  // The cost per setup of the measured phase (start, ringing on both devices, cancel): the server
  // process's CPU, and the database's transactions and row changes.
  const cpu0 = procSample(server.pid).cpu;
  const k0 = kernelSample(server.pid);
  const gen0 = procSample(process.pid).cpu;
  const pgCpu0 = postgresCpu();
  const backends = await benchBackendPids(opt.pg, db.name);
  const backendCpu0 = await benchBackendsCpu(backends);
  const box0 = machineCpu();
  const pg0 = await pgStats(opt.pg, db.name);
  if (opt.statements) await roleStatements(opt.pg, false);
  const phaseProfile = opt.profilePhase ? await server.startCpuProfile() : null;
  const t0 = performance.now();
  // When the server's WebSocket pings reached one socket (relative to the phase start).
  const pings = [];
  if (opt.timeline) calleeConns[0].ws.on('ping', () => pings.push(((performance.now() - t0) / 1000).toFixed(2)));
  const errors = [];
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / opt.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const pair = i % opt.pairs;
    const callId = `bench-${i.toString().padStart(6, '0')}`;
    intended.set(callId, due);
    inflight.push(
      mutate(callerConns[pair], 'calls.start', { callId, deviceId: 'bench', userId: callees[pair], video: i % 2 === 0 })
        .then(async (call) => {
          startAcked.push(performance.now() - due);
          if (call.state !== 'ringing') errors.push(`not ringing: ${call.state}/${call.endReason}`);
          for (let k = 0; k < 400 && (rang.get(callId) ?? 0) < 2; k++) await sleep(5);
          await mutate(callerConns[pair], 'calls.hangup', { callId });
        })
        .catch((e) => errors.push(e.message)),
    );
  }
  await Promise.all(inflight);
  const sentIn = (performance.now() - t0) / 1000;
  const serverCpuS = procSample(server.pid).cpu - cpu0;
  const k1 = kernelSample(server.pid);
  const generatorCpuS = procSample(process.pid).cpu - gen0;
  const postgresCpuS = postgresCpu() - pgCpu0;
  // Backends the pool opened during the phase count whole (all their work is in it).
  const backendsAfter = (await benchBackendPids(opt.pg, db.name)).filter((p) => !backends.includes(p));
  const backendCpuS = (await benchBackendsCpu([...backends, ...backendsAfter])) - backendCpu0;
  const box1 = machineCpu();
  const pg1 = await pgStats(opt.pg, db.name);
  if (opt.statements) {
    log('pg_stat_statements of the measured phase (this role; calls, total ms, mean ms, max ms, rows, query):');
    for (const r of await roleStatements(opt.pg, true)) log(`  ${String(r.calls).padStart(6)} ${String(r.total_ms).padStart(8)} ${String(r.mean_ms).padStart(7)} ${String(r.max_ms).padStart(7)} ${String(r.rows).padStart(6)}  ${r.query}`);
  }
  if (phaseProfile) {
    const profile = await phaseProfile.stop();
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sohbet-calls-prof-')), 'phase.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    const prof = analyzeProfile(profile, ROOT);
    log(`server profile of the measured setups (${file}): ${prof.totalMs} ms, idle ${prof.idlePct}%`);
    for (const f of prof.topSelf.slice(0, 25)) log(`  self ${String(f.pct).padStart(5)}%  ${f.name}`);
    for (const f of prof.byPackage.slice(0, 10)) log(`  pkg  ${String(f.pct).padStart(5)}%  ${f.name}`);
    for (const f of prof.sohbetInclusive.slice(0, 15)) log(`  incl ${String(f.pct).padStart(5)}%  ${f.name}`);
  }
  if (opt.timeline) {
    const buckets = new Map();
    for (const [id, ms] of slowest) {
      if (!id.startsWith('bench-')) continue;
      const b = Math.floor(Number(id.slice(6)) / (opt.rate / 4));
      buckets.set(b, Math.max(buckets.get(b) ?? 0, ms));
    }
    const line = [...buckets.entries()].sort((x, y) => x[0] - y[0]).map(([b, ms]) => `${(b / 4).toFixed(2)}s:${Math.round(ms)}`);
    // With --node-args=--trace-gc: the server's longer GC pauses still in its kept output.
    const gcs = server.output.join('').split('\n').filter((l) => /Mark-Compact|Mark-sweep|: (Scavenge|Minor)/.test(l) && (/Mark/.test(l) || Number(/, ([\d.]+) \/ [\d.]+ ms/.exec(l)?.[1] ?? 0) >= 10));
    if (gcs.length) for (const l of gcs.slice(-15)) log(`  gc ${l.trim().slice(0, 160)}`);
    log(`phase started ≈ ${Math.round(t0 - spawnedAt)} ms after the server process (its --trace-gc clock); server pings seen at (s): ${pings.join(' ') || 'none'}`);
    log(`slowest ringing per 250 ms of intended time (s:ms), > 50 ms only: ${line.filter((x) => Number(x.split(':')[1]) > 50).join(' ') || 'none'}`);
  }
  const achieved = total / sentIn;
  const complete = [...intended.keys()].filter((id) => (rang.get(id) ?? 0) === 2).length;
  // Every call was hung up: no line may be left held and no call left live (a leaked line would
  // make every later call of that pair busy, which would show up as "not ringing: ended/busy").
  const check = new pg.Client({ connectionString: db.url });
  await check.connect();
  if (opt.timeline) {
    // Autovacuum/autoanalyze of the fresh database during the phase (seconds after its start).
    const since = Date.now() - (performance.now() - t0);
    const av = (await check.query(`select relname, last_autovacuum, last_autoanalyze from pg_stat_user_tables where last_autovacuum is not null or last_autoanalyze is not null`)).rows;
    const at = (d) => (d ? ((d.getTime() - since) / 1000).toFixed(2) : '-');
    log(`autovacuum / autoanalyze (s after the phase start): ${av.map((r) => `${r.relname} ${at(r.last_autovacuum)}/${at(r.last_autoanalyze)}`).join(', ') || 'none'}`);
  }
  const left = (await check.query(`select (select count(*)::int from call_lines) as lines, (select count(*)::int from calls where state <> 'ended') as live`)).rows[0];
  await check.end();
  const s = summarize(latencies);
  const ms = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 1)]));
  const result = {
    date: new Date().toISOString(),
    rate: opt.rate, seconds: opt.seconds, pairs: opt.pairs, devicesPerCallee: 2,
    setups: total, achievedRate: round(achieved), rangOnBothDevices: complete, errors: errors.slice(0, 10), errorCount: errors.length, afterRun: { linesHeld: left.lines, liveCalls: left.live },
    inviteToRingingMs: ms(s),
    startAckMs: ms(summarize(startAcked)),
    perSetup: {
      serverCpuMs: round((serverCpuS * 1000) / total, 2),
      // The split of the server's CPU, and its read/write syscalls (each socket write to PostgreSQL
      // or a WebSocket is one; on loopback the kernel delivers it to the receiver inside that call).
      serverUserCpuMs: round(((k1.user - k0.user) * 1000) / total, 2),
      serverSysCpuMs: round(((k1.sys - k0.sys) * 1000) / total, 2),
      serverReadSyscalls: round((k1.reads - k0.reads) / total, 1),
      serverWriteSyscalls: round((k1.writes - k0.writes) / total, 1),
      generatorCpuMs: round((generatorCpuS * 1000) / total, 2),
      // Every postgres process on the box: includes other databases' work on a shared machine.
      postgresCpuMs: round((postgresCpuS * 1000) / total, 2),
      // Only the backends of the bench database (those connected at the start or the end of the phase): its own cost on a shared box.
      postgresBackendCpuMs: round((backendCpuS * 1000) / total, 2),
      postgresBackends: backends.length,
      postgresBackendsOpenedDuringPhase: backendsAfter.length,
      commits: round((pg1.commits - pg0.commits) / total, 2),
      rowsInserted: round((pg1.inserted - pg0.inserted) / total, 2),
      rowsUpdated: round((pg1.updated - pg0.updated) / total, 2),
    },
    serverCpuPct: round((serverCpuS / sentIn) * 100),
    machineBusyPct: round(((box1.busy - box0.busy) / (box1.total - box0.total)) * 100),
    loadAverage: { before: loadBefore.map((v) => round(v, 2)), after: os.loadavg().map((v) => round(v, 2)) },
    niced: os.getPriority() > 0,
    cpus: os.cpus().length,
  };
  log(JSON.stringify(result));
  const out = path.join(HERE, 'results');
  mkdirSync(out, { recursive: true });
  const stamp = result.date.replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(path.join(out, `calls-${stamp}Z.json`), JSON.stringify(result, null, 2));
  writeFileSync(
    path.join(out, 'calls-latest.md'),
    `# Calls benchmark (${result.date})\n\nInvite → ringing on each of the callee's 2 devices, ${opt.rate} setups/s open loop for ${opt.seconds} s (${total} setups, ${opt.pairs} pairs), real server + PostgreSQL + load generator on this shared ${result.cpus}-core box${result.niced ? ' (run under nice)' : ''}; load average (1/5/15 min) ${result.loadAverage.before.join(' / ')} before, ${result.loadAverage.after.join(' / ')} after. Latency from the intended send time.\n\n` +
      `| setups | achieved/s | rang on both devices | errors | p50 | p90 | p99 | max | server CPU per setup | server CPU | DB commits per setup |\n|---|---|---|---|---|---|---|---|---|---|---|\n` +
      `| ${total} | ${result.achievedRate} | ${complete} | ${errors.length} | ${result.inviteToRingingMs.p50} ms | ${result.inviteToRingingMs.p90} ms | ${result.inviteToRingingMs.p99} ms | ${result.inviteToRingingMs.max} ms | ${result.perSetup.serverCpuMs} ms | ${result.serverCpuPct}% | ${result.perSetup.commits} |\n`,
  );
  await closeAll([...callerConns, ...calleeConns]);
} finally {
  await server.stop();
  await db.drop();
}
if (profDir) {
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length) {
    const prof = analyzeProfile(JSON.parse(readFileSync(path.join(profDir, files[0]), 'utf8')), ROOT);
    log(`server profile (${profDir}/${files[0]}): ${prof.totalMs} ms, idle ${prof.idlePct}%`);
    for (const f of prof.topSelf.slice(0, 20)) log(`  self ${String(f.pct).padStart(5)}%  ${f.name}`);
    for (const f of prof.byPackage.slice(0, 10)) log(`  pkg  ${String(f.pct).padStart(5)}%  ${f.name}`);
    for (const f of prof.sohbetInclusive.slice(0, 12)) log(`  incl ${String(f.pct).padStart(5)}%  ${f.name}`);
  }
}
