#!/usr/bin/env node
/**
 * Live-support benchmark (issue 6): N new support chats per second with M operators online,
 * against the real server (child process, NODE_ENV=production) on a fresh PostgreSQL database.
 *
 * Operators hold real WebSockets (raw tRPC frames); each accepts an offer as soon as its
 * `support.chat.updated` event arrives and resolves the chat after `--hold-ms`, so capacity keeps
 * freeing as in a real desk. Customers start chats over HTTP at a fixed open-loop rate.
 *
 * Measured per chat, from the moment the customer's `support.start` request is sent:
 *   time to assign  = until the offer reaches the chosen operator's socket (routing + fan-out);
 *   time to accept  = until the operator's accept is acknowledged (adds the operator's round trip).
 * Target: time to assign p95 <= 100 ms at 50 chats/s with 50 operators (capacity available).
 *
 *   node bench/support.mjs                          # 50 chats/s, 50 operators, 20 s
 *   node bench/support.mjs --rate=50 --operators=50 --seconds=20 --max-chats=5 --hold-ms=2000
 *   node bench/support.mjs --seconds=6 --prof=/tmp/prof    # plus a CPU profile of the server
 * Bounded: one run, every wait has a deadline, the whole run stops at 5 minutes; only the server
 * and database it started are stopped/dropped. All traffic goes to 127.0.0.1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, postgresCpu, procSample, serverApiBatch, signHs256, sleep, spawnServer } from './lib/env.mjs';
import { closeAll, openConn } from './lib/raw-client.mjs';
import { round, summarize } from './lib/stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')).map(([k, v]) => [k, v ?? 'true']));
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  rate: Number(argv.rate ?? 50),
  operators: Number(argv.operators ?? 50),
  seconds: Number(argv.seconds ?? 20),
  maxChats: Number(argv['max-chats'] ?? 5),
  holdMs: Number(argv['hold-ms'] ?? 2000),
  // The server's DATABASE_POOL_SIZE (undefined: its default).
  pool: argv.pool ? Number(argv.pool) : undefined,
  out: argv.out ?? path.join(HERE, 'results'),
};
const log = (...a) => console.log(`[support-bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const started = { server: null, db: null, conns: [] };
const cleanup = async () => {
  await closeAll(started.conns).catch(() => {});
  if (started.server) await started.server.stop().catch(() => {});
  if (started.db) await started.db.drop().catch((e) => log('drop failed', e.message));
};
const hardStop = setTimeout(() => {
  log('hard stop after 5 minutes');
  void cleanup().then(() => process.exit(2));
}, 5 * 60_000);
hardStop.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void cleanup().then(() => process.exit(130)));

const token = (server, id, roles) => signHs256({ sub: id, name: id, roles, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 }, server.secret);
async function call(server, bearer, proc, input, kind = 'mutation') {
  const r = kind === 'mutation'
    ? await fetch(`${server.url}/trpc/${proc}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(input) })
    : await fetch(`${server.url}/trpc/${proc}`, { headers: { authorization: `Bearer ${bearer}` } });
  const j = await r.json();
  if (j.error) throw new Error(`${proc}: ${JSON.stringify(j.error).slice(0, 200)}`);
  return j.result.data;
}

async function main() {
  started.db = await freshDatabase(opt.pg);
  // --prof=<dir>: the server writes a V8 CPU profile there on exit (node --cpu-prof).
  started.server = await spawnServer({ databaseUrl: started.db.url, nodeArgs: argv.prof ? ['--cpu-prof', `--cpu-prof-dir=${argv.prof}`] : [], poolSize: opt.pool });
  const server = started.server;
  log(`server pid ${server.pid} on ${server.url}; ${opt.operators} operators, ${opt.rate} chats/s for ${opt.seconds} s`);

  const opIds = Array.from({ length: opt.operators }, (_, i) => `bop-${String(i).padStart(3, '0')}`);
  const total = opt.rate * opt.seconds;
  const custIds = Array.from({ length: total }, (_, i) => `bcu-${String(i).padStart(5, '0')}`);
  await serverApiBatch(server, 'server.upsertUser', opIds.map((id) => ({ id, name: id, roles: ['operator'] })));
  await serverApiBatch(server, 'server.upsertUser', custIds.map((id) => ({ id, name: id })));

  const t0ByCustomer = new Map();
  const assignMs = [];
  const assignAt = []; // each assignMs entry's start time, for the per-second timeline
  const acceptMs = [];
  const errors = [];
  let mutationId = 100;
  const pendingAccepts = new Map();
  for (const id of opIds) {
    const bearer = token(server, id, ['operator']);
    const seen = new Set();
    const { ok, conn } = await openConn(server.wsUrl, bearer, {
      onFrame(s, c) {
        if (s.includes('"support.chat.updated"')) {
          const ev = JSON.parse(s).result?.data?.data;
          const chat = ev?.data?.chat;
          if (chat?.state === 'offered' && chat.offeredTo === id && !seen.has(chat.id)) {
            seen.add(chat.id);
            const t0 = t0ByCustomer.get(chat.customer.id);
            if (t0 !== undefined) {
              assignMs.push(performance.now() - t0);
              assignAt.push(t0);
            }
            const mid = ++mutationId;
            pendingAccepts.set(mid, { t0, chatId: chat.id, bearer });
            c.ws.send(JSON.stringify({ id: mid, method: 'mutation', params: { path: 'support.accept', input: { chatId: chat.id } } }));
          }
          return;
        }
        const m = /^\{"id":(\d+),/.exec(s);
        const p = m && pendingAccepts.get(Number(m[1]));
        if (!p) return;
        pendingAccepts.delete(Number(m[1]));
        if (s.includes('"error"')) return void errors.push(`accept: ${s.slice(0, 160)}`);
        if (p.t0 !== undefined) acceptMs.push(performance.now() - p.t0);
        // The operator works on it for a while, then resolves: capacity frees as in a real desk.
        setTimeout(() => void call(server, p.bearer, 'support.resolve', { chatId: p.chatId }).catch((e) => errors.push(e.message)), opt.holdMs);
      },
    });
    if (!ok) throw new Error(`operator ${id} could not connect: ${conn.error}`);
    started.conns.push(conn);
    await call(server, bearer, 'support.updateMe', { status: 'available', maxChats: opt.maxChats });
  }
  log('operators online and available');

  // Open loop: chat i starts at i / rate seconds, whatever the server's pace.
  const startMs = [];
  const cpu0 = { server: procSample(server.pid).cpu, pg: postgresCpu() };
  const begin = performance.now();
  const starts = [];
  for (let i = 0; i < total; i++) {
    const due = begin + (i * 1000) / opt.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (i > 0 && i % (opt.rate * 5) === 0) log(`${i} starts sent, ${assignMs.length} assigned, ${acceptMs.length} accepted`);
    const id = custIds[i];
    const bearer = token(server, id, []);
    const t0 = performance.now();
    t0ByCustomer.set(id, t0);
    starts.push(
      call(server, bearer, 'support.start', { topic: 'order', text: `bench chat ${i}`, clientId: `bench-support-${String(i).padStart(6, '0')}` })
        .then(() => startMs.push(performance.now() - t0))
        .catch((e) => errors.push(e.message)),
    );
  }
  log(`all ${total} starts sent in ${round((performance.now() - begin) / 1000, 1)} s; waiting for answers`);
  // Bounded: answers that take longer than 60 s count as missing.
  await Promise.race([Promise.all(starts), sleep(60_000)]);
  const deadline = Date.now() + 15_000;
  while (acceptMs.length + errors.length < total && Date.now() < deadline) await sleep(100);
  const elapsed = (performance.now() - begin) / 1000;
  // CPU spent per chat's life (start, offer, accept, resolve) — less sensitive to a busy machine than latency.
  const cpuPerChat = { serverMs: round(((procSample(server.pid).cpu - cpu0.server) * 1000) / total, 2), postgresMs: round(((postgresCpu() - cpu0.pg) * 1000) / total, 2) };
  log(`CPU per chat: server ${cpuPerChat.serverMs} ms, PostgreSQL ${cpuPerChat.postgresMs} ms`);

  const a = summarize(assignMs);
  const acc = summarize(acceptMs);
  const st = summarize(startMs);
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg().map((x) => round(x, 1)) },
    options: opt,
    chats: total,
    cpuPerChat,
    assigned: assignMs.length,
    accepted: acceptMs.length,
    errors: errors.slice(0, 20),
    errorCount: errors.length,
    elapsedSeconds: round(elapsed, 1),
    timeToAssignMs: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, round(v, 1)])),
    timeToAcceptMs: Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, round(v, 1)])),
    startResponseMs: Object.fromEntries(Object.entries(st).map(([k, v]) => [k, round(v, 1)])),
    // Per second of the run (by when the chat was started): chats and their time-to-assign p95 / max,
    // so a run's tail can be placed (a burst at one moment vs a queue that grows).
    assignTimeline: timeline(assignAt.map((t) => t - begin), assignMs),
    target: { timeToAssignP95Ms: 100, pass: a.n > 0 && a.p90 !== null && pct(assignMs, 0.95) <= 100 },
  };
  result.timeToAssignMs.p95 = round(pct(assignMs, 0.95), 1);
  result.timeToAcceptMs.p95 = round(pct(acceptMs, 0.95), 1);
  result.startResponseMs.p95 = round(pct(startMs, 0.95), 1);
  mkdirSync(opt.out, { recursive: true });
  const stamp = result.at.replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(path.join(opt.out, `support-${stamp}Z.json`), JSON.stringify(result, null, 2));
  writeFileSync(path.join(opt.out, 'support-latest.md'), report(result));
  log(JSON.stringify({ assign: result.timeToAssignMs, accept: result.timeToAcceptMs, errors: errors.length, pass: result.target.pass }));
}

function timeline(atMs, values) {
  const bySecond = [];
  atMs.forEach((t, i) => (bySecond[Math.max(0, Math.floor(t / 1000))] ??= []).push(values[i]));
  return Array.from(bySecond, (v, second) => (v ? { second, n: v.length, p95: round(pct(v, 0.95), 1), max: round(Math.max(...v), 1) } : { second, n: 0 }));
}

function pct(values, p) {
  const a = Float64Array.from(values).sort();
  return a.length ? a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))] : NaN;
}

function report(r) {
  const row = (name, s) => `| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} |`;
  return `# Live support benchmark (${r.at})

${r.options.rate} new support chats/s for ${r.options.seconds} s (${r.chats} chats) with ${r.options.operators} operators online
(max ${r.options.maxChats} chats each; each accepts on the offer event and resolves after ${r.options.holdMs} ms).
Real server, NODE_ENV=production, fresh PostgreSQL database, one instance; ${r.machine.cpus} CPUs (${r.machine.model}), Node ${r.machine.node}; load average at the end ${r.machine.loadAverage?.join(' / ') ?? 'n/a'}.

| measure (ms, from the customer's start request) | n | p50 | p95 | p99 | max |
|---|---|---|---|---|---|
${row('time to assign (offer reaches the operator socket)', r.timeToAssignMs)}
${row('time to accept (operator accept acknowledged)', r.timeToAcceptMs)}
${row('support.start HTTP response', r.startResponseMs)}

Target: time to assign p95 <= 100 ms — **${r.target.pass ? 'PASS' : 'MISS'}** (p95 ${r.timeToAssignMs.p95} ms).
Chats assigned ${r.assigned}/${r.chats}, accepted ${r.accepted}, errors ${r.errorCount}.
CPU per chat (start → offer → accept → resolve, measured over the run): server ${r.cpuPerChat.serverMs} ms, PostgreSQL ${r.cpuPerChat.postgresMs} ms.
`;
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanup().then(() => clearTimeout(hardStop)));
