import type { NotifyLocale } from '@sohbet/protocol';
import type { NotifyPayload } from './notify.domain.ts';

/** Localized notification texts (Azerbaijani and English), rendered when a row is sent. */

const T = {
  az: {
    audioCall: (n: string) => `${n} sizə zəng edir`,
    videoCall: (n: string) => `${n} sizə video zəng edir`,
    incoming: 'Gələn zəng',
    missed: 'Buraxılmış zəng',
    missedBody: (n: string) => `${n} sizə zəng etdi`,
    supportTitle: 'Dəstək xidməti',
    supportSubject: 'Dəstək xidmətindən yeni cavab',
    open: 'Söhbəti açın',
    smsMissed: (n: string) => `Söhbət: ${n} sizə zəng etdi, amma çata bilmədi.`,
    attachment: 'Yeni mesaj',
  },
  en: {
    audioCall: (n: string) => `${n} is calling you`,
    videoCall: (n: string) => `${n} is video calling you`,
    incoming: 'Incoming call',
    missed: 'Missed call',
    missedBody: (n: string) => `${n} called you`,
    supportTitle: 'Support',
    supportSubject: 'A new reply from support',
    open: 'Open the conversation',
    smsMissed: (n: string) => `Sohbet: ${n} tried to call you.`,
    attachment: 'New message',
  },
} as const;

export interface Rendered {
  title: string | null;
  body: string | null;
}

const PREVIEW_MAX = 180;
const preview = (s: string) => (s.length > PREVIEW_MAX ? `${s.slice(0, PREVIEW_MAX - 1)}…` : s);

/** Title and body of a push (null for data-only follow-ups: stop ringing, badge). */
export function renderPush(locale: NotifyLocale, p: NotifyPayload): Rendered {
  const t = T[locale];
  switch (p.type) {
    case 'message':
      return {
        title: p.support ? t.supportTitle : p.title ? `${p.senderName} · ${p.title}` : p.senderName,
        body: preview(p.text || t.attachment),
      };
    case 'call_incoming':
      return { title: t.incoming, body: p.media === 'video' ? t.videoCall(p.callerName) : t.audioCall(p.callerName) };
    case 'missed_call':
      return { title: t.missed, body: t.missedBody(p.callerName) };
    default:
      return { title: null, body: null };
  }
}

export function renderSms(locale: NotifyLocale, p: NotifyPayload): string {
  if (p.type === 'missed_call') return T[locale].smsMissed(p.callerName);
  const r = renderPush(locale, p);
  return [r.title, r.body].filter(Boolean).join(': ');
}

/** HTML-escapes user text: message text and names must never become markup in an email. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export function renderEmail(locale: NotifyLocale, p: NotifyPayload, frontendUrl: string | null): RenderedEmail {
  const t = T[locale];
  const r = renderPush(locale, p);
  const subject = p.type === 'message' && p.support ? t.supportSubject : (r.title ?? t.supportSubject);
  const link = frontendUrl && 'conversationId' in p ? `${frontendUrl.replace(/\/$/, '')}/?conversation=${encodeURIComponent(p.conversationId)}` : null;
  const who = p.type === 'message' ? p.senderName : null;
  const text = [who ? `${who}:` : null, r.body, link ? `\n${t.open}: ${link}` : null].filter(Boolean).join('\n');
  const html = `<!doctype html><html lang="${locale}"><body style="font-family:sans-serif">
<p>${who ? `<strong>${escapeHtml(who)}</strong>: ` : ''}${escapeHtml(r.body ?? '')}</p>
${link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(t.open)}</a></p>` : ''}
</body></html>`;
  return { subject, text, html };
}
