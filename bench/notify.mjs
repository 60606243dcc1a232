#!/usr/bin/env node
/**
 * Notification outbox benchmark (issue 7): 10,000 queued notifications drained by the real server
 * process to a local provider server, per channel, with the rate and the number of duplicates.
 * Rows are inserted as the rules write them (one statement, all due at once) into a fresh
 * PostgreSQL database; the server's worker claims, sends and records them.
 *
 *   node bench/notify.mjs [--n=10000] [--channels=expo,fcm] [--prof=/tmp/prof]
 * Writes bench/results/notify-<date>.json and notify-latest.md.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, freshDatabase, machineCpu, sleep, ROOT } from './lib/env.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const N = Number(argv.n ?? 10_000);
const CHANNELS = (argv.channels ?? 'expo,fcm').split(',');
const PG = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet';

/** A local provider: Expo push (batched, 100 per request) and FCM v1 (one request each) with its token endpoint. */
async function provider() {
  const seen = new Map();
  let requests = 0;
  let first = 0;
  let last = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const body = Buffer.concat(chunks).toString();
      const json = (s, b) => res.writeHead(s, { 'content-type': 'application/json' }).end(JSON.stringify(b));
      const mark = (key) => {
        first ||= Date.now();
        last = Date.now();
        seen.set(key, (seen.get(key) ?? 0) + 1);
      };
      if (req.url === '/oauth2/token') return json(200, { access_token: 'bench', expires_in: 3600 });
      if (req.url === '/--/api/v2/push/send') {
        const msgs = JSON.parse(body);
        msgs.forEach((m) => mark(m.to));
        return json(200, { data: msgs.map((_, i) => ({ status: 'ok', id: `t${requests}-${i}` })) });
      }
      if (req.url.endsWith('/messages:send')) {
        mark(JSON.parse(body).message.token);
        return json(200, { name: `projects/bench/messages/${requests}` });
      }
      json(404, {});
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, stats: () => ({ requests, first, last }), close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

async function run(channel) {
  const db = await freshDatabase(PG);
  const prov = await provider();
  const port = await freePort();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sa = { client_email: 'bench@bench.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: `${prov.url}/oauth2/token`, project_id: 'bench' };
  const env = {
    PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: db.url,
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-bench-notify-')), AUTH_JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn',
    NOTIFY_WORKER_MS: '20', NOTIFY_BATCH: '500', NOTIFY_CONCURRENCY: '64',
    ...(channel === 'expo' ? { EXPO_PUSH_URL: prov.url } : { FCM_SERVICE_ACCOUNT: JSON.stringify(sa), FCM_URL: prov.url }),
  };
  // --prof=<dir>: the server writes a V8 CPU profile there on exit (node --cpu-prof).
  const prof = argv.prof ? ['--cpu-prof', `--cpu-prof-dir=${argv.prof}`] : [];
  const proc = spawn(process.execPath, [...prof, path.join(ROOT, 'packages/server/bin/sohbet.mjs'), 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  proc.stdout.on('data', (b) => out.push(b.toString()));
  proc.stderr.on('data', (b) => out.push(b.toString()));
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error(`server did not start:\n${out.join('')}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {}
    await sleep(200);
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const target = channel === 'expo' ? `'ExponentPushToken[bench' || i || ']'` : `'fcm-bench-' || lpad(i::text, 40, '0')`;
  const t0 = Date.now();
  await client.query(
    `insert into notify_outbox (idempotency_key, user_id, kind, channel, target, priority, payload, next_attempt_at, created_at, updated_at)
     select 'bench:' || i, 'user-' || (i % 1000), 'missed_call', $2, ${target}, 'normal',
            jsonb_build_object('type', 'missed_call', 'callId', 'call-' || i, 'conversationId', 'c-' || i, 'callerName', 'Aysel', 'media', 'audio'),
            now(), now(), now()
     from generate_series(1, $1::int) as i`,
    [N, channel],
  );
  const inserted = Date.now();
  const cpu0 = machineCpu();
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  let accepted = 0;
  while (Date.now() - inserted < 120_000) {
    accepted = (await client.query(`select count(*)::int as n from notify_outbox where state = 'accepted'`)).rows[0].n;
    if (accepted >= N) break;
    await sleep(50);
  }
  const done = Date.now();
  const cpu1 = machineCpu();
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const states = Object.fromEntries((await client.query(`select state, count(*)::int as n from notify_outbox group by state`)).rows.map((r) => [r.state, r.n]));
  const p = prov.stats();
  const duplicates = [...prov.seen.values()].reduce((a, c) => a + (c - 1), 0);
  await client.end();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await prov.close();
  await db.drop();
  const result = {
    channel,
    notifications: N,
    insertMs: inserted - t0,
    drainMs: done - inserted,
    ratePerSec: Math.round((accepted / (done - inserted)) * 1000),
    providerWindowMs: p.last - p.first,
    providerRatePerSec: p.last > p.first ? Math.round((prov.seen.size / (p.last - p.first)) * 1000) : null,
    providerRequests: p.requests,
    distinctReceived: prov.seen.size,
    duplicates,
    states,
    loadAverage1m: [Number(load0), Number(load1)],
    machineCpuBusyPct: Math.round(((cpu1.busy - cpu0.busy) / Math.max(1e-9, cpu1.total - cpu0.total)) * 100),
  };
  console.log(JSON.stringify(result));
  return result;
}

const results = [];
for (const c of CHANNELS) results.push(await run(c));
const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..+/, 'Z');
mkdirSync(path.join(HERE, 'results'), { recursive: true });
writeFileSync(path.join(HERE, 'results', `notify-${stamp}.json`), JSON.stringify({ at: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2));
const md = [
  `# Notification outbox benchmark (${new Date().toISOString()})`,
  '',
  `${N.toLocaleString('en')} queued notifications drained by the real server process (PostgreSQL, NOTIFY_BATCH=500, NOTIFY_CONCURRENCY=64) to a local provider server on the same ${os.cpus().length}-core machine. Target: ≥ 1,000/s, no duplicates.`,
  '',
  '| channel | drained in | rate (accepted/s) | provider requests | received (distinct) | duplicates | final states | load avg (1 min) before/after | machine CPU busy |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.channel} | ${(r.drainMs / 1000).toFixed(2)} s | ${r.ratePerSec.toLocaleString('en')} | ${r.providerRequests.toLocaleString('en')} | ${r.distinctReceived.toLocaleString('en')} | ${r.duplicates} | ${Object.entries(r.states).map(([k, v]) => `${k} ${v}`).join(', ')} | ${r.loadAverage1m.join(' / ')} | ${r.machineCpuBusyPct}% |`),
  '',
  'Expo batches 100 messages per request (its API); FCM v1 is one HTTP request per notification.',
];
writeFileSync(path.join(HERE, 'results', 'notify-latest.md'), md.join('\n') + '\n');
console.log(md.join('\n'));
