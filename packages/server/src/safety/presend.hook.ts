import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import { AppError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ScreenedMessage, SendScreen } from '../chat/messages.service.ts';
import { signWebhook } from '../webhooks/webhooks.service.ts';
import { parseVerdict } from './safety.domain.ts';

export interface PreSendDeps {
  url: string;
  secret: string;
  timeoutMs: number;
  failure: 'open' | 'closed';
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** Outcomes by result (allow, reject, redact, failed_open, failed_closed). */
  outcomes?: Counter<'result'>;
}

/**
 * The synchronous pre-send hook: every new or edited user message is POSTed to the host backend,
 * signed like the outgoing webhooks (`Sohbet-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "t.body")>`),
 * before it is stored. The host answers allow, reject (typed `chat.rejected` with its reason,
 * nothing stored) or redact (the stored and delivered text is the host's). A timeout, a non-2xx
 * answer or an answer that is not one of the three counts as a failure: `open` lets the message
 * through, `closed` refuses it with `chat.hook_unavailable` (the SDK outbox retries that later).
 */
export class PreSendHook implements SendScreen {
  constructor(private readonly d: PreSendDeps) {}

  async screen(actorId: string, m: ScreenedMessage): Promise<{ text: string } | null> {
    const body = JSON.stringify({
      id: `ps_${randomUUID()}`,
      type: 'message.presend',
      createdAt: this.d.clock.now().toISOString(),
      data: { senderId: actorId, conversationId: m.conversationId, clientId: m.clientId, message: { type: m.type, text: m.text, ...(m.seq !== undefined ? { seq: m.seq } : {}) } },
    });
    const answer = await this.call(body);
    if (answer.ok) {
      const v = answer.verdict;
      this.d.outcomes?.inc({ result: v.action });
      if (v.action === 'allow') return null;
      if (v.action === 'reject') throw new AppError('chat.rejected', v.reason, { reason: v.reason });
      return { text: v.text };
    }
    this.d.log.warn({ error: answer.error, failure: this.d.failure, conversationId: m.conversationId }, 'pre-send hook failed');
    if (this.d.failure === 'open') {
      this.d.outcomes?.inc({ result: 'failed_open' });
      return null;
    }
    this.d.outcomes?.inc({ result: 'failed_closed' });
    throw new AppError('chat.hook_unavailable', 'the message could not be checked right now; try again', { error: answer.error });
  }

  private async call(body: string): Promise<{ ok: true; verdict: ReturnType<typeof parseVerdict> & object } | { ok: false; error: string }> {
    const t = Math.floor(this.d.clock.now().getTime() / 1000);
    try {
      const res = await (this.d.fetch ?? fetch)(this.d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sohbet-signature': signWebhook(this.d.secret, t, body) },
        body,
        signal: AbortSignal.timeout(this.d.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        return { ok: false, error: `HTTP ${res.status}` };
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, error: 'the answer is not JSON' };
      }
      const verdict = parseVerdict(json);
      return verdict ? { ok: true, verdict } : { ok: false, error: 'the answer is not {action: allow | reject | redact}' };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' || e.name === 'AbortError' ? `timed out after ${this.d.timeoutMs} ms` : e.message };
    }
  }
}
