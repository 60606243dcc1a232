/**
 * PostgreSQL CPU attributable to one database: its backends (process title
 * "postgres: … <user> <db> <addr> …") plus the shared WAL writer, checkpointer and background
 * writer, as per-PID deltas. Summing every `postgres` process (env.mjs postgresCpu) goes negative
 * on a shared host when other people's backends exit during a step, and counts their queries.
 * Read-only look at /proc; never signals anything.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { CLK_TCK } from './env.mjs';

const SHARED = /postgres: (?:\S+: )?(walwriter|checkpointer|background writer)/;

function snapshot(dbName) {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const title = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!title.includes(` ${dbName} `) && !SHARED.test(title)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(d, (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Starts a measurement; `stop()` returns the CPU seconds the database's processes used since (≥ 0). */
export function pgCpuOf(dbName) {
  const a = snapshot(dbName);
  let last = a;
  return {
    /** Call now and then during long windows so short-lived backends are not missed entirely. */
    sample() {
      last = mergeMax(last, snapshot(dbName));
    },
    stop() {
      const b = mergeMax(last, snapshot(dbName));
      let total = 0;
      for (const [pid, cpu] of b) total += Math.max(0, cpu - (a.get(pid) ?? 0));
      return total;
    },
  };
}

function mergeMax(x, y) {
  const m = new Map(x);
  for (const [k, v] of y) m.set(k, Math.max(v, m.get(k) ?? 0));
  return m;
}
