import type { NotifyConfig } from '../../config/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { OutboxChannel } from '../notify.domain.ts';
import { ApnsProvider } from './apns.ts';
import { ResendProvider, SmtpProvider } from './email.ts';
import { ExpoProvider } from './expo.ts';
import { FcmProvider, loadServiceAccount } from './fcm.ts';
import type { Provider } from './provider.ts';
import { TwilioProvider } from './twilio.ts';
import { WebPushProvider } from './webpush.ts';

export interface ProviderOptions {
  fetch?: typeof fetch;
  /** Extra CA for the APNs TLS connection (tests run a local HTTP/2 server with a self-signed certificate). */
  apnsCa?: string;
  now: () => Date;
}

/** One provider per configured channel; each logs one startup line, enabled or not and why. */
export function createProviders(cfg: NotifyConfig, log: Logger, o: ProviderOptions): Map<OutboxChannel, Provider> {
  const d = { fetch: o.fetch ?? fetch, timeoutMs: cfg.timeoutMs, concurrency: cfg.concurrency, now: o.now };
  const out = new Map<OutboxChannel, Provider>();
  const line = (channel: string, p: Provider | null, where: string, hint: string) =>
    p ? log.info({ channel, provider: p.name, url: where }, `notifications: ${p.name} enabled (${where})`) : log.info({ channel }, `notifications: ${channel} disabled (${hint})`);

  const expo = cfg.expo ? new ExpoProvider(cfg.expo, d) : null;
  line('expo', expo, cfg.expo?.url ?? '', 'set EXPO_ACCESS_TOKEN');
  const fcm = cfg.fcm ? new FcmProvider(loadServiceAccount(cfg.fcm.serviceAccount), cfg.fcm, d) : null;
  line('fcm', fcm, cfg.fcm?.url ?? '', 'set FCM_SERVICE_ACCOUNT and FCM_PROJECT_ID');
  const apns = cfg.apns ? new ApnsProvider(cfg.apns, { ...d, ca: o.apnsCa }) : null;
  line('apns_voip', apns, cfg.apns?.host ?? '', 'set APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY, APNS_BUNDLE_ID');
  const apnsAlert = cfg.apns ? new ApnsProvider(cfg.apns, { ...d, ca: o.apnsCa }, 'alert') : null;
  line('apns', apnsAlert, cfg.apns?.host ?? '', 'set APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY, APNS_BUNDLE_ID');
  const webpush = cfg.webpush ? new WebPushProvider(cfg.webpush, d) : null;
  line('webpush', webpush, 'browser push services', 'set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT');
  const email = cfg.resend && cfg.emailFrom ? new ResendProvider({ ...cfg.resend, from: cfg.emailFrom }, d) : cfg.smtp && cfg.emailFrom ? new SmtpProvider({ url: cfg.smtp.url, from: cfg.emailFrom }, d) : null;
  line('email', email, cfg.resend?.url ?? (cfg.smtp ? new URL(cfg.smtp.url).host : ''), 'set RESEND_API_KEY or SMTP_URL, and EMAIL_FROM');
  const sms = cfg.twilio ? new TwilioProvider(cfg.twilio, d) : null;
  line('sms', sms, cfg.twilio?.url ?? '', 'set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM');
  for (const p of [expo, fcm, apns, apnsAlert, webpush, email, sms]) if (p) out.set(p.channel, p);
  return out;
}
