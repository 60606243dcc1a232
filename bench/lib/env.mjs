/**
 * The benchmark's environment: a fresh PostgreSQL database per run, the real server as a
 * child process, HS256 tokens, the server API over HTTP, and /proc + /metrics sampling.
 * Everything talks to 127.0.0.1 only.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pg = require(require.resolve('pg', { paths: [path.join(ROOT, 'packages/server')] }));

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fresh database on the local PostgreSQL (dropped with `drop()`). */
export async function freshDatabase(baseUrl) {
  const name = `sohbet_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** pg_stat_database counters for one database (transactions and row changes). */
export async function pgStats(baseUrl, dbName) {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    const r = await c.query(
      `select xact_commit::bigint as commits, xact_rollback::bigint as rollbacks, tup_inserted::bigint as inserted, tup_updated::bigint as updated,
              tup_fetched::bigint as fetched, blks_hit::bigint as blks_hit, blks_read::bigint as blks_read
       from pg_stat_database where datname = $1`,
      [dbName],
    );
    const row = r.rows[0] ?? {};
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  } finally {
    await c.end();
  }
}

export async function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Limits for a load generator, which is not a person: per-user limits sized for people would refuse
 * it. The message limiter still runs (its cost is measured), with a ceiling no generator reaches;
 * the identical-text rule is off because every generated message has the same text.
 */
export const BENCH_RATE_LIMITS = 'message=10000000/1m,message.identical=off,connect=off,connect.ip=off,conversation.new=off,conversation.new.young_account=off';

/** Spawns `sohbet start` (the real server) like packages/server/test/process.ts does. */
export async function spawnServer({ databaseUrl, redisUrl, nodeArgs = [], logLevel = 'warn', poolSize, port: fixedPort, secret: fixedSecret, apiKey: fixedApiKey, env: extraEnv = {} }) {
  // A restarted server (W5) keeps its port, secret and API key so clients reconnect with their tokens.
  const port = fixedPort ?? (await freePort());
  const secret = fixedSecret ?? randomBytes(32).toString('hex');
  const apiKey = fixedApiKey ?? randomBytes(24).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-bench-'));
  const bin = path.join(ROOT, 'packages/server/bin/sohbet.mjs');
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: secret,
    SOHBET_API_KEY: apiKey,
    LOG_LEVEL: logLevel,
    SHUTDOWN_GRACE_MS: '3000',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...(poolSize ? { DATABASE_POOL_SIZE: String(poolSize) } : {}),
    RATE_LIMITS: BENCH_RATE_LIMITS,
    ...extraEnv,
  };
  // The inspector (127.0.0.1, random port, idle unless we attach) lets W1 force a full GC before reading RSS.
  const proc = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...nodeArgs, bin, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (b) => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${output.join('')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not become ready in 60 s:\n${output.join('')}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(output.join(''))?.[1] ?? null;
  return {
    pid: proc.pid,
    inspectorUrl,
    /** Full GC in the server (inspector HeapProfiler.collectGarbage), so RSS/heap reflect live memory. */
    async collectGarbage() {
      const call = await inspector(inspectorUrl);
      if (!call) return false;
      await call('HeapProfiler.enable');
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.disable');
      call.close();
      return true;
    },
    /** A heap snapshot of the server (after a full GC), summarized: self size and count per (type, constructor name). */
    async heapSummary() {
      const call = await inspector(inspectorUrl);
      if (!call) return null;
      const chunks = [];
      call.onEvent('HeapProfiler.addHeapSnapshotChunk', (p) => chunks.push(p.chunk));
      await call('HeapProfiler.enable');
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      await call('HeapProfiler.disable');
      call.close();
      return summarizeHeapSnapshot(JSON.parse(chunks.join('')));
    },
    /** Starts V8's CPU profiler in the server (through the inspector); `stop()` returns the .cpuprofile object. */
    async startCpuProfile(intervalUs = 500) {
      const call = await inspector(inspectorUrl);
      if (!call) return null;
      await call('Profiler.enable');
      await call('Profiler.setSamplingInterval', { interval: intervalUs });
      await call('Profiler.start');
      return {
        async stop() {
          const { profile } = await call('Profiler.stop');
          await call('Profiler.disable');
          call.close();
          return profile;
        },
      };
    },
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    secret,
    apiKey,
    proc,
    output,
    dataDir,
    token(userId, ttlSeconds = 4 * 3600) {
      return signHs256({ sub: userId, name: userId, roles: [], iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + ttlSeconds }, secret);
    },
    /** kill -9: no drain, no goodbye (W5). */
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
    port,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

const b64url = (s) => Buffer.from(s).toString('base64url');
/** A Chrome DevTools Protocol session on the server's inspector: `call(method, params)` → result. */
async function inspector(inspectorUrl) {
  if (!inspectorUrl) return null;
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(inspectorUrl, { maxPayload: 2 ** 30 });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let next = 1;
  const call = (method, params) =>
    new Promise((resolve, reject) => {
      const id = next++;
      const on = (d) => {
        const m = JSON.parse(d.toString());
        if (m.id !== id) return;
        ws.off('message', on);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result);
      };
      ws.on('message', on);
      ws.send(JSON.stringify({ id, method, params }));
    });
  call.close = () => ws.close();
  call.onEvent = (method, fn) => ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.method === method) fn(m.params);
  });
  return call;
}

/** Self size and count per `type:name` of a V8 heap snapshot (the .heapsnapshot JSON). */
export function summarizeHeapSnapshot(snap) {
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  // Closures are told apart by where they were defined (script id:line), anonymous ones included.
  const where = new Map();
  const loc = snap.locations ?? [];
  for (let i = 0; i < loc.length; i += 4) where.set(loc[i], `@${loc[i + 1]}:${loc[i + 2] + 1}`);
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + iType]];
    const named = type !== 'string' && type !== 'concatenated string' && type !== 'sliced string' && type !== 'number';
    const name = named ? snap.strings[snap.nodes[i + iName]] : '';
    const key = `${type}:${name}${type === 'closure' ? (where.get(i) ?? '') : ''}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + iSize];
    e.count += 1;
    out.set(key, e);
  }
  return out;
}

export function signHs256(claims, secret) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Calls a server-API mutation for many inputs with tRPC HTTP batching, `concurrency` batches at a time. */
export async function serverApiBatch(server, procPath, inputs, { concurrency = 16 } = {}) {
  // Fastify caps a route parameter at 100 characters, and the batched paths are one parameter.
  const batch = Math.max(1, Math.floor(100 / (procPath.length + 1)));
  const out = new Array(inputs.length);
  let next = 0;
  async function lane() {
    while (next < inputs.length) {
      const start = next;
      next += batch;
      const chunk = inputs.slice(start, start + batch);
      const paths = chunk.map(() => procPath).join(',');
      const body = Object.fromEntries(chunk.map((x, i) => [String(i), x]));
      const r = await fetch(`${server.url}/trpc/${paths}?batch=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': server.apiKey },
        body: JSON.stringify(body),
      });
      const json = await r.json();
      if (!Array.isArray(json)) throw new Error(`${procPath}: unexpected response ${r.status} ${JSON.stringify(json).slice(0, 300)}`);
      json.forEach((res, i) => {
        if (res.error) throw new Error(`${procPath}: ${JSON.stringify(res.error).slice(0, 300)}`);
        out[start + i] = res.result.data;
      });
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

/** utime+stime (seconds) and VmRSS (bytes) of a process from /proc. */
export function procSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    return { cpu, rss };
  } catch {
    return { cpu: 0, rss: 0 };
  }
}

/** Total CPU seconds of every `postgres` process (read-only look at /proc; we never signal them). */
export function postgresCpu() {
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Whole-machine busy and total CPU seconds from /proc/stat. */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** A few values from the server's Prometheus /metrics (the event-loop histogram resets on each scrape). */
export async function scrapeMetrics(server) {
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const get = (name) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    return {
      lagP50: get('sohbet_nodejs_eventloop_lag_p50_seconds'),
      lagP99: get('sohbet_nodejs_eventloop_lag_p99_seconds'),
      lagMax: get('sohbet_nodejs_eventloop_lag_max_seconds'),
      heapUsed: get('sohbet_nodejs_heap_size_used_bytes'),
      connections: get('sohbet_ws_connections'),
    };
  } catch {
    return {};
  }
}

/**
 * CPU (% of one core) used during `ms` by everything that is neither our processes nor PostgreSQL:
 * other people's test runs on a shared host. Used to wait for a quiet machine and to flag steps.
 */
export async function foreignCpuPct(pids, ms = 1000) {
  const ours0 = pids.reduce((a, p) => a + procSample(p).cpu, 0);
  const pg0 = postgresCpu();
  const m0 = machineCpu();
  await sleep(ms);
  const ours1 = pids.reduce((a, p) => a + procSample(p).cpu, 0);
  const pg1 = postgresCpu();
  const m1 = machineCpu();
  return Math.max(0, ((m1.busy - m0.busy - (ours1 - ours0) - (pg1 - pg0)) / (ms / 1000)) * 100);
}

/** Waits (bounded) until foreign CPU stays under `maxPct` for a 1 s sample; returns what it saw. */
export async function waitForQuiet(pids, { maxPct = 25, maxWaitMs = Number(process.env.BENCH_QUIET_WAIT_MS ?? 45_000), log } = {}) {
  const start = Date.now();
  let last = 0;
  for (let i = 0; ; i++) {
    last = await foreignCpuPct(pids, 1000);
    if (last < maxPct) return { waitedMs: Date.now() - start, foreignPct: Math.round(last) };
    if (i === 0) log?.(`host busy with other work (${Math.round(last)}% of a core outside the benchmark): waiting up to ${maxWaitMs / 1000} s`);
    if (Date.now() - start > maxWaitMs) return { waitedMs: Date.now() - start, foreignPct: Math.round(last), gaveUp: true };
  }
}
