import type { ConversationDTO } from '@sohbet/protocol';
import type { I18n } from '../i18n/i18n.tsx';
import { codedText } from './notices.ts';

/** What to call a conversation: a server-made title in the UI language, the group title, or the other member's name. */
export function conversationName(c: ConversationDTO, myId: string, t?: I18n['t']): string {
  if (c.titleCode && t) return codedText(t, c.titleCode, c.title ?? '');
  if (c.kind === 'group') return c.title ?? c.members.map((m) => m.name).join(', ');
  const peer = c.members.find((m) => m.userId !== myId);
  return peer?.name ?? c.peerId ?? c.title ?? '?';
}

export function memberName(c: ConversationDTO | undefined, userId: string | null): string {
  if (!userId) return '';
  return c?.members.find((m) => m.userId === userId)?.name ?? userId;
}

export function peerOf(c: ConversationDTO, myId: string) {
  return c.kind === 'direct' ? (c.members.find((m) => m.userId !== myId) ?? null) : null;
}
