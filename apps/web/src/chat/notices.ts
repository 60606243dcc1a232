import type { I18n } from '../i18n/i18n.tsx';
import { az, type MessageKey } from '../i18n/strings.ts';
import { topicLabel } from '../support/labels.ts';
import type { UiMessage } from '../sdk.ts';

type Coded = { code: string; params?: Record<string, string> };

/**
 * Text the server made (system notices, support chat titles) arrives as a code + params; the app
 * shows it in the UI language under `notice.<code>`, and falls back to the server's plain text
 * for a code it does not know yet (a newer server).
 */
export function codedText(t: I18n['t'], c: Coded, fallback: string): string {
  const key = `notice.${c.code}`;
  if (!(key in az)) return fallback;
  const params: Record<string, string> = { ...c.params };
  if (params.topic) params.topic = topicLabel(t, params.topic);
  return t(key as MessageKey, params);
}

/** A system message's text in the UI language. */
export function systemText(t: I18n['t'], m: Pick<UiMessage, 'payload' | 'text'>): string {
  const fallback = m.text ?? t('msg.system');
  return m.payload?.type === 'notice' ? codedText(t, m.payload, fallback) : fallback;
}
