#!/usr/bin/env node
// `npm test`: runs every suite. Suites that need PostgreSQL, Redis or Chromium run when those
// are reachable and are skipped (and listed as skipped) otherwise. CI sets
// SOHBET_REQUIRE=postgres,redis,chromium, and then a missing service fails the run instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

const require = new Set((process.env.SOHBET_REQUIRE ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const env = { ...process.env };

function reachable(url) {
  return new Promise((resolve) => {
    try {
      const u = new URL(url);
      const sock = net.connect({ host: u.hostname, port: Number(u.port) || (u.protocol.startsWith('redis') ? 6379 : 5432) });
      sock.setTimeout(1000);
      sock.on('connect', () => (sock.destroy(), resolve(true)));
      sock.on('error', () => resolve(false));
      sock.on('timeout', () => (sock.destroy(), resolve(false)));
    } catch {
      resolve(false);
    }
  });
}

const tiers = [
  { name: 'postgres', envKey: 'TEST_DATABASE_URL', fallback: 'postgresql://sohbet:sohbet@127.0.0.1:5432/sohbet', check: reachable, covers: 'API, support and restart suites on PostgreSQL, multi-instance test, support concurrency harness' },
  { name: 'redis', envKey: 'TEST_REDIS_URL', fallback: 'redis://127.0.0.1:6379', check: reachable, covers: 'bus and presence suites on Redis, multi-instance test, support concurrency harness' },
  { name: 'chromium', envKey: 'CHROMIUM_PATH', fallback: '/usr/bin/chromium', check: async (p) => existsSync(p), covers: 'web app end-to-end tests' },
  { name: 'clamd', envKey: 'CLAMD_PATH', fallback: '/usr/sbin/clamd', check: async (p) => existsSync(p), covers: 'ClamAV malware-scan tests (a real clamd, Debian clamav-daemon)' },
  {
    // Voice messages and call recordings are decoded and checked with ffmpeg/ffprobe (the server
    // uses the one on PATH too). These suites cannot skip per test, so the runner leaves them out.
    name: 'ffmpeg',
    envKey: 'FFMPEG_PATH',
    fallback: 'ffmpeg',
    check: async (p) => spawnSync(p, ['-version'], { stdio: 'ignore' }).status === 0,
    covers: 'attachment and voice suites, media SDK and web tests, call recording and the web call tests',
    excludes: [
      'packages/server/test/media.api.test.ts',
      'packages/server/test/media.scan.test.ts',
      'packages/server/src/media/clamav.test.ts',
      'packages/client/test/media-sdk.test.ts',
      'apps/web/test/media.e2e.test.ts',
      'apps/web/test/calls.e2e.test.ts',
      'packages/server/test/calls.recording.test.ts',
      'packages/server/test/media.forward.test.ts',
      'packages/server/test/calls.restart.test.ts',
    ],
  },
  {
    // Fault injection starts its own PostgreSQL (initdb/pg_ctl) and redis-server to restart and stop them.
    name: 'faults',
    envKey: 'PG_BIN',
    fallback: '/usr/lib/postgresql/15/bin',
    check: async (p) => existsSync(`${p}/pg_ctl`) && spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0,
    covers: 'fault injection (PostgreSQL restart, Redis stop, SIGKILL, cut connection) on a private PostgreSQL and Redis',
    excludes: ['packages/server/test/faults.test.ts'],
  },
];

const skipped = [];
for (const t of tiers) {
  const value = env[t.envKey] || t.fallback;
  if (await t.check(value)) env[t.envKey] = value;
  else {
    delete env[t.envKey];
    if (require.has(t.name)) {
      console.error(`\n✖ ${t.name} is required (SOHBET_REQUIRE) but not reachable at ${value} (set ${t.envKey}).\n`);
      process.exit(1);
    }
    skipped.push(t);
  }
}

const args = process.argv.slice(2);
const excludes = skipped.flatMap((t) => (t.excludes ?? []).map((f) => `--exclude=${f}`));
const r = spawnSync('npx', ['vitest', 'run', ...excludes, ...args], { stdio: 'inherit', env });
if (skipped.length) {
  console.log('\nSkipped tiers (their tests did not run):');
  for (const t of skipped) console.log(`  - ${t.name}: ${t.covers} — set ${t.envKey} (default ${t.fallback})`);
  console.log('CI runs every tier (.ci/run sets SOHBET_REQUIRE=postgres,redis,chromium,clamd,ffmpeg,faults).\n');
}
process.exit(r.status ?? 1);
