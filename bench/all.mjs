#!/usr/bin/env node
/**
 * `npm run bench`: every workload, one after the other (they share the machine, so never in
 * parallel), then bench/results/summary.md with each workload's targets table. `--smoke` runs
 * the CI version (a few seconds per workload) and fails if any message was lost or duplicated.
 *
 *   npm run bench                  # W1/W2/resume, W3, W4, W5, W6 (+ baselines and W7 when present)
 *   npm run bench -- --smoke       # CI smoke (~3-5 min)
 *   npm run bench -- --only=w3,w4  # a subset
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/fleet.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const argv = parseArgs();
const smoke = argv.smoke === 'true';
const WORKLOADS = [
  { id: 'w2', script: 'run.mjs', report: smoke ? 'smoke/latest.md' : 'latest.md', title: 'W1 idle, W2 1:1 persisted, resume' },
  { id: 'w3', script: 'w3-fanout.mjs', report: smoke ? 'w3-smoke.md' : 'w3.md', title: 'W3 group fan-out' },
  { id: 'w4', script: 'w4-reconnect.mjs', report: smoke ? 'w4-smoke.md' : 'w4.md', title: 'W4 reconnect storm' },
  { id: 'w5', script: 'w5-restart.mjs', report: smoke ? 'w5-smoke.md' : 'w5.md', title: 'W5 restart under load' },
  { id: 'w6', script: 'w6-instances.mjs', report: smoke ? 'w6-smoke.md' : 'w6.md', title: 'W6 two instances + Redis' },
  { id: 'w7', script: 'w7-persistence.mjs', report: smoke ? 'smoke/w7-smoke.md' : 'w7.md', title: 'W7 persistence vs batch size' },
  { id: 'compare', script: 'compare.mjs', report: smoke ? 'smoke/compare-smoke.md' : 'compare.md', title: 'Baselines: polling and socket.io' },
];
const only = argv.only ? new Set(argv.only.split(',')) : null;
const passOn = process.argv.slice(2).filter((a) => !a.startsWith('--only='));

const outcome = [];
for (const w of WORKLOADS) {
  if (only && !only.has(w.id)) continue;
  if (!existsSync(path.join(HERE, w.script))) continue;
  console.log(`\n=== ${w.title} (bench/${w.script}${passOn.length ? ' ' + passOn.join(' ') : ''}) ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(HERE, w.script), ...passOn], { stdio: 'inherit' });
  outcome.push({ ...w, status: r.status, seconds: Math.round((Date.now() - t0) / 1000) });
}

const resultsDir = path.join(HERE, 'results');
mkdirSync(resultsDir, { recursive: true });
const md = [`# Sohbet benchmarks${smoke ? ' (smoke)' : ''} — ${new Date().toISOString()}`, '', '| workload | exit | seconds | report |', '|---|---:|---:|---|'];
for (const o of outcome) md.push(`| ${o.title} | ${o.status} | ${o.seconds} | [${o.report}](${o.report}) |`);
for (const o of outcome) {
  const file = path.join(resultsDir, o.report);
  if (!existsSync(file)) continue;
  // Each report's first table is its targets table.
  const text = readFileSync(file, 'utf8');
  const m = /\n(\| target[\s\S]*?)\n\n/.exec(text + '\n\n');
  if (m) md.push('', `## ${o.title}`, '', m[1]);
}
writeFileSync(path.join(resultsDir, smoke ? 'summary-smoke.md' : 'summary.md'), md.join('\n') + '\n');
const failed = outcome.filter((o) => o.status !== 0);
console.log(`\n${outcome.length} workloads, ${failed.length} failed${failed.length ? ': ' + failed.map((f) => f.id).join(', ') : ''}; summary in bench/results/${smoke ? 'summary-smoke.md' : 'summary.md'}`);
process.exit(failed.length ? 1 : 0);
