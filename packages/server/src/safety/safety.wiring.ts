import { Counter } from 'prom-client';
import type { AuthService } from '../auth/auth.service.ts';
import type { Config } from '../config/config.ts';
import type { Metrics } from '../core/metrics.ts';
import { PreSendHook } from './presend.hook.ts';
import { SafetyService, type SafetyDeps } from './safety.service.ts';

/** Builds the safety service and wires it in: the suspension check on every token, the pre-send hook on every message. */
export function createSafety(d: SafetyDeps & { config: Config; auth: AuthService; metrics: Metrics; fetch?: typeof fetch }): SafetyService {
  const safety = new SafetyService(d);
  d.auth.addGuard((user) => safety.assertNotSuspended(user.id));
  const presend = d.config.safety.presend;
  if (presend) {
    const outcomes = new Counter({ name: 'sohbet_presend_hook_total', help: 'Pre-send hook answers by result (allow, reject, redact, failed_open, failed_closed)', labelNames: ['result'], registers: [d.metrics.registry] });
    d.messages.useScreen(new PreSendHook({ ...presend, clock: d.clock, log: d.log, fetch: d.fetch, outcomes }));
  }
  return safety;
}
