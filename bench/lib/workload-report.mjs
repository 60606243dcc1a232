/** JSON + Markdown report of one workload script (bench/results/<name>.json and <name>.md). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './env.mjs';

export function environment(extra = {}) {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {}
  return { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memTotal: os.totalmem(), commit, ...extra };
}

/** A Markdown table from rows of plain values. */
export function table(headers, rows) {
  const align = headers.map((h, i) => (rows.some((r) => typeof r[i] === 'number') ? '---:' : '---'));
  return [`| ${headers.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r.map((v) => (v === null || v === undefined ? '—' : String(v))).join(' | ')} |`)].join('\n');
}

export function writeWorkload(outDir, name, results, markdown) {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, `${name}.json`);
  const md = path.join(outDir, `${name}.md`);
  writeFileSync(json, JSON.stringify(results, null, 2));
  writeFileSync(md, markdown.join('\n\n') + '\n');
  return [json, md];
}

/** PASS/MISS line for the targets table. */
export const verdict = (ok) => (ok ? '**PASS**' : '**MISS**');
