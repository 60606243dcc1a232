import type { I18n } from '../i18n/i18n.tsx';
import type { MessageKey } from '../i18n/strings.ts';

/** The fixed list of topics a customer can pick (ids are what the server routes on). */
export const SUPPORT_TOPICS = ['order', 'payment', 'delivery', 'account', 'other'] as const;

/** A topic's label in the UI language; topics the app does not know show as the server sent them. */
export function topicLabel(t: I18n['t'], topic: string): string {
  return (SUPPORT_TOPICS as readonly string[]).includes(topic) ? t(`support.topic.${topic}` as MessageKey) : topic;
}
