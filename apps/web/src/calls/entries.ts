import type { CallDTO } from '@sohbet/protocol';
import type { I18n } from '../i18n/i18n.tsx';
import { formatDuration } from './ringtone.ts';

type Entry = { media: string; code: string; durationSec: number };

/** "Call, 3:12" / "Missed video call" in the UI language, from a call or its conversation entry. */
export function entryText(t: I18n['t'], e: Entry): string {
  const v = e.media === 'video' ? 'Video' : 'Audio';
  const kind = e.code.replace(/^call\./, '');
  if (kind === 'completed') return t(`call.entry.completed${v}`, { duration: formatDuration(e.durationSec) });
  if (kind === 'missed' || kind === 'declined' || kind === 'cancelled') return t(`call.entry.${kind}${v}`);
  return t(`call.entry.failed${v}`);
}

export function callEntryText(t: I18n['t'], c: CallDTO): string {
  if (c.state !== 'ended') return t(`call.${c.media}`);
  const reason = c.endReason === 'busy' ? 'missed' : c.endReason === 'completed' && !c.durationSec ? 'cancelled' : (c.endReason ?? 'failed');
  return entryText(t, { media: c.media, code: reason, durationSec: c.durationSec ?? 0 });
}

/** The translated text of a call's system entry in a conversation, or null if the message is not one. */
export function systemEntryText(t: I18n['t'], payload: unknown): string | null {
  const p = payload as { type?: string; code?: string; params?: Record<string, string> } | null;
  if (!p || p.type !== 'notice' || !p.code?.startsWith('call.')) return null;
  return entryText(t, { media: p.params?.media ?? 'audio', code: p.code, durationSec: Number(p.params?.durationSec ?? 0) });
}
