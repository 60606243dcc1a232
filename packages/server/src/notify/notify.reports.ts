import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Delivery reports pushed by providers (no IO): signature checks exactly as each provider documents
 * them, and the mapping of a provider's status to an outbox state.
 */

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security): the full
 * URL Twilio requested (with its query string), then each POST parameter's name and value appended
 * in name order, HMAC-SHA1 with the account's auth token, base64.
 */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const data = url + sorted.map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export function verifyTwilio(authToken: string, url: string, params: Iterable<[string, string]>, header: string | undefined): boolean {
  return !!header && sameText(twilioSignature(authToken, url, params), header);
}

/** Svix timestamps older or newer than this are refused (replays). */
export const SVIX_TOLERANCE_MS = 5 * 60_000;

/**
 * Svix signature (Resend webhooks, https://docs.svix.com/receiving/verifying-payloads/how-manual):
 * HMAC-SHA256 over `${svix-id}.${svix-timestamp}.${raw body}` keyed with the base64 part of the
 * `whsec_…` secret, base64; `svix-signature` lists one or more `v1,<signature>` separated by spaces.
 */
export function svixSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
}

export type SvixCheck = { ok: true } | { ok: false; why: 'missing_headers' | 'timestamp' | 'signature' };

export function verifySvix(secret: string, h: { id?: string; timestamp?: string; signature?: string }, body: string, now: Date): SvixCheck {
  if (!h.id || !h.timestamp || !h.signature) return { ok: false, why: 'missing_headers' };
  const ts = Number(h.timestamp);
  if (!Number.isFinite(ts) || Math.abs(now.getTime() - ts * 1000) > SVIX_TOLERANCE_MS) return { ok: false, why: 'timestamp' };
  const expected = svixSignature(secret, h.id, h.timestamp, body);
  const given = h.signature.split(' ').flatMap((p) => {
    const [version, sig] = p.split(',', 2);
    return version === 'v1' && sig ? [sig] : [];
  });
  return given.some((s) => sameText(s, expected)) ? { ok: true } : { ok: false, why: 'signature' };
}

/** What a report does to the row: delivered, or failed for good with the provider's reason; null = nothing to record. */
export type Report = { state: 'delivered'; reason: string | null } | { state: 'dead'; reason: string };

/**
 * Twilio MessageStatus (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values):
 * delivered/read → delivered; failed/undelivered → dead with the ErrorCode; queued/sending/sent and
 * others are steps on the way (the row stays accepted).
 */
export function twilioReport(status: string | undefined, errorCode: string | undefined): Report | null {
  if (status === 'delivered' || status === 'read') return { state: 'delivered', reason: null };
  if (status === 'failed' || status === 'undelivered') return { state: 'dead', reason: `twilio ${status}${errorCode ? ` ${errorCode}` : ''}` };
  return null;
}

/**
 * Resend events (https://resend.com/docs/dashboard/webhooks/event-types): email.delivered →
 * delivered; email.bounced → dead with the bounce message; email.complained (the recipient marked
 * it as spam) → the row stays delivered with the complaint as its reason, and email to that
 * person is turned off. Other events are not delivery outcomes.
 */
export function resendReport(type: string | undefined, data: { bounce?: { type?: string; subType?: string; message?: string } } | undefined): (Report & { complaint?: boolean }) | null {
  switch (type) {
    case 'email.delivered':
      return { state: 'delivered', reason: null };
    case 'email.bounced': {
      const b = data?.bounce;
      const what = [b?.type, b?.subType].filter(Boolean).join('/');
      return { state: 'dead', reason: `resend bounced${what ? ` (${what})` : ''}${b?.message ? `: ${b.message}` : ''}`.slice(0, 500) };
    }
    case 'email.complained':
      return { state: 'delivered', reason: 'complained: the recipient marked it as spam; email turned off', complaint: true };
    default:
      return null;
  }
}
