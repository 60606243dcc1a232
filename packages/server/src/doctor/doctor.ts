import { ConfigError, parseConfig, type Config } from '../config/config.ts';
import { checkDatabase, checkFrontend, checkLiveKit, checkNotify, checkRedis, checkStorage, checkTurn, type CheckResult } from './doctor.checks.ts';

export type { CheckResult } from './doctor.checks.ts';

/**
 * `sohbet doctor`: checks the deployment for real (database reachable and migrated, Redis, a
 * probe object in storage, LiveKit credentials, each notification provider, TURN, FRONTEND_URL)
 * and says what to fix. `ok` is false when any check failed (warnings do not fail).
 */
export async function runDoctor(env: Record<string, string | undefined>, opts: { fetch?: typeof fetch } = {}): Promise<{ ok: boolean; results: CheckResult[] }> {
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, results: err.problems.map((p) => ({ name: 'config', status: 'fail', detail: p, fix: 'fix the variable in the environment / .env (see .env.example)' })) };
  }
  const results: CheckResult[] = [{ name: 'config', status: 'ok', detail: `valid (NODE_ENV=${config.env})` }];
  const checks = await Promise.all([checkDatabase(config), checkRedis(config), checkStorage(config), checkLiveKit(config), checkNotify(config, opts.fetch), checkTurn(config)]);
  results.push(...checks.flat(), checkFrontend(config));
  return { ok: results.every((r) => r.status !== 'fail'), results };
}

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: '--  ' } as const;

/** One line per check, then the fix for each problem. */
export function formatDoctor(report: { ok: boolean; results: CheckResult[] }): string {
  const width = Math.max(...report.results.map((r) => r.name.length));
  const lines = report.results.map((r) => `${MARK[r.status]}  ${r.name.padEnd(width)}  ${r.detail}${r.fix && r.status !== 'ok' ? `\n${' '.repeat(width + 8)}fix: ${r.fix}` : ''}`);
  const failed = report.results.filter((r) => r.status === 'fail').length;
  const warned = report.results.filter((r) => r.status === 'warn').length;
  lines.push('', report.ok ? `all checks passed${warned ? ` (${warned} warning(s))` : ''}` : `${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}`);
  return lines.join('\n');
}
