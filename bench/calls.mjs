#!/usr/bin/env node
/**
 * Calls benchmark (issue 5): invite → ringing latency on every callee device at a fixed rate of
 * call setups per second (open loop), on the real server against PostgreSQL. Each setup is a
 * `calls.start` over the caller's WebSocket; the latency is from the intended start time to the
 * `call.updated` (ringing) event on each of the callee's two devices. The caller cancels once
 * both devices rang, so lines are free for the pair's next call.
 *
 *   node bench/calls.mjs                       # 100 setups/s for 10 s, 200 pairs
 *   node bench/calls.mjs --rate=100 --seconds=5 --pairs=200
 * Writes bench/results/calls-<date>.json and .md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, serverApiBatch, sleep, spawnServer } from './lib/env.mjs';
import { closeAll, openConn } from './lib/raw-client.mjs';
import { round, summarize } from './lib/stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')).map(([k, v]) => [k, v ?? 'true']));
const opt = {
  pg: argv.pg ?? process.env.BENCH_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet',
  rate: Number(argv.rate ?? 100),
  seconds: Number(argv.seconds ?? 10),
  pairs: Number(argv.pairs ?? 200),
};
const log = (...a) => console.log(`[calls-bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const db = await freshDatabase(opt.pg);
const server = await spawnServer({ databaseUrl: db.url });
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
  const onCallee = (s) => {
    if (onReply(s) || !s.includes('"call.updated"')) return;
    const at = performance.now();
    const ev = JSON.parse(s).result?.data?.data;
    const call = ev?.data?.call;
    if (!call || call.state !== 'ringing' || !intended.has(call.id)) return;
    latencies.push(at - intended.get(call.id));
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
  const t0 = performance.now();
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
          if (call.state !== 'ringing') errors.push(`not ringing: ${call.state}/${call.endReason}`);
          for (let k = 0; k < 400 && (rang.get(callId) ?? 0) < 2; k++) await sleep(5);
          await mutate(callerConns[pair], 'calls.hangup', { callId });
        })
        .catch((e) => errors.push(e.message)),
    );
  }
  await Promise.all(inflight);
  const achieved = total / ((performance.now() - t0) / 1000);
  const complete = [...intended.keys()].filter((id) => (rang.get(id) ?? 0) === 2).length;
  const s = summarize(latencies);
  const result = {
    date: new Date().toISOString(),
    rate: opt.rate, seconds: opt.seconds, pairs: opt.pairs, devicesPerCallee: 2,
    setups: total, achievedRate: round(achieved), rangOnBothDevices: complete, errors: errors.slice(0, 10), errorCount: errors.length,
    inviteToRingingMs: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v, 1)])),
  };
  log(JSON.stringify(result));
  const out = path.join(HERE, 'results');
  mkdirSync(out, { recursive: true });
  const stamp = result.date.replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(path.join(out, `calls-${stamp}Z.json`), JSON.stringify(result, null, 2));
  writeFileSync(
    path.join(out, 'calls-latest.md'),
    `# Calls benchmark (${result.date})\n\nInvite → ringing on each of the callee's 2 devices, ${opt.rate} setups/s for ${opt.seconds} s (${total} setups, ${opt.pairs} pairs), real server + PostgreSQL on this shared 2-core box.\n\n` +
      `| setups | achieved/s | rang on both devices | errors | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|---|\n` +
      `| ${total} | ${result.achievedRate} | ${complete} | ${errors.length} | ${result.inviteToRingingMs.p50} ms | ${result.inviteToRingingMs.p90} ms | ${result.inviteToRingingMs.p99} ms | ${result.inviteToRingingMs.max} ms |\n`,
  );
  await closeAll([...callerConns, ...calleeConns]);
} finally {
  await server.stop();
  await db.drop();
}
