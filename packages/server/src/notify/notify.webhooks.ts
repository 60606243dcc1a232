import type { FastifyInstance } from 'fastify';
import type { NotifyConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Database } from '../db/db.ts';
import { notifyRepo as repo } from './notify.repo.ts';
import { resendReport, twilioReport, verifySvix, verifyTwilio } from './notify.reports.ts';

export const TWILIO_STATUS_PATH = '/webhooks/twilio/status';
export const RESEND_WEBHOOK_PATH = '/webhooks/resend';

/**
 * Delivery reports from providers that push them: Twilio status callbacks (the StatusCallback URL
 * of each message) and Resend webhooks (Svix-signed). Both check the signature on the exact bytes
 * received, so the routes parse their bodies themselves; a bad signature changes nothing (401).
 * Expo reports by receipts instead, which the worker polls.
 */
export async function registerNotifyWebhooks(http: FastifyInstance, d: { config: NotifyConfig; database: Database; clock: Clock; log: Logger; metrics: Metrics }): Promise<void> {
  const twilio = d.config.twilio;
  const resendSecret = d.config.resendWebhookSecret;
  if (!(twilio?.statusCallbackUrl || resendSecret)) return;
  const refused = (reply: { code(n: number): { send(b: unknown): unknown } }, what: string, why: string) => {
    d.log.warn({ why }, `${what} webhook refused`);
    return reply.code(401).send({ code: 'notify.webhook_invalid' });
  };
  const count = (channel: string, outcome: string) => d.metrics.notifyOutcomes.inc({ channel, kind: 'report', outcome });

  await http.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));

    if (twilio?.statusCallbackUrl) {
      const base = twilio.statusCallbackUrl;
      scope.post(TWILIO_STATUS_PATH, async (req, reply) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const params = new URLSearchParams(raw);
        // Twilio signs the URL it called: the configured public URL with the query it was given.
        const signed = new URL(base);
        signed.search = new URL(req.url, 'http://local').search;
        if (!verifyTwilio(twilio.authToken, signed.toString(), params, req.headers['x-twilio-signature'] as string | undefined)) return refused(reply, 'twilio', 'signature');
        if (params.get('AccountSid') !== twilio.accountSid) return refused(reply, 'twilio', 'account');
        const sid = params.get('MessageSid') ?? params.get('SmsSid');
        const id = Number(signed.searchParams.get('n'));
        const report = twilioReport(params.get('MessageStatus') ?? params.get('SmsStatus') ?? undefined, params.get('ErrorCode') ?? undefined);
        if (!sid || !report) return reply.code(200).send({ ok: true, ignored: report ? 'no MessageSid' : 'not a final status' });
        const row = await repo.report(d.database.db, { channel: 'sms', ...(Number.isSafeInteger(id) && id > 0 ? { id } : {}), providerId: sid, ...report, now: d.clock.now() });
        count('sms', row ? report.state : 'unmatched');
        return reply.code(200).send(row ? { ok: true, id: row.id, state: report.state } : { ok: true, ignored: 'unknown message' });
      });
    }

    if (resendSecret) {
      scope.post(RESEND_WEBHOOK_PATH, async (req, reply) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const h = (k: string) => req.headers[k] as string | undefined;
        const check = verifySvix(resendSecret, { id: h('svix-id'), timestamp: h('svix-timestamp'), signature: h('svix-signature') }, raw, d.clock.now());
        if (!check.ok) return refused(reply, 'resend', check.why);
        let event: { type?: string; data?: { email_id?: string; bounce?: { type?: string; subType?: string; message?: string } } };
        try {
          event = JSON.parse(raw);
        } catch {
          return reply.code(400).send({ code: 'input.invalid' });
        }
        const report = resendReport(event.type, event.data);
        const emailId = event.data?.email_id;
        if (!report || !emailId) return reply.code(200).send({ ok: true, ignored: report ? 'no email_id' : 'not a delivery event' });
        const now = d.clock.now();
        const row = await d.database.db.transaction(async (tx) => {
          const r = await repo.report(tx, { channel: 'email', providerId: emailId, state: report.state, reason: report.reason, now });
          if (r && report.complaint) await repo.disableEmail(tx, r.userId, now);
          return r;
        });
        count('email', row ? (report.complaint ? 'complained' : report.state) : 'unmatched');
        return reply.code(200).send(row ? { ok: true, id: row.id, state: report.state } : { ok: true, ignored: 'unknown email' });
      });
    }
  });
}
