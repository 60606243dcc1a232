import type { ConversationContext } from '@sohbet/protocol';
import type { Services } from '../services.ts';

/**
 * Demo data for the web app's demo sign-in (`sohbet start --demo`): a buyer, a seller, two
 * operators and a supervisor, and one listing conversation with two messages. Safe to run on every start: users are
 * upserted, the direct conversation is unique per pair and listing, and the messages carry fixed
 * clientIds, so a second run returns the stored messages instead of adding new ones (G2).
 */
export const DEMO_USERS = [
  { id: 'aysel', name: 'Aysel Məmmədova', avatarUrl: null, roles: [] as string[] },
  { id: 'rashad', name: 'Rəşad Əliyev', avatarUrl: null, roles: [] as string[] },
  { id: 'operator', name: 'Operator', avatarUrl: null, roles: ['operator'] },
  // A second operator (transfers between operators) and a supervisor (operator + admin: the supervisor view).
  { id: 'operator2', name: 'Leyla Operator', avatarUrl: null, roles: ['operator'] },
  { id: 'supervisor', name: 'Supervisor', avatarUrl: null, roles: ['operator', 'admin'] },
] as const;

export const DEMO_LISTING: ConversationContext = {
  type: 'listing',
  id: 'listing-1001',
  title: 'iPhone 13 Pro, 256 GB',
  price: { amount: 1450, currency: 'AZN' },
};

const DEMO_MESSAGES = [
  { from: 'aysel', clientId: 'demo-seed-listing-1001-1', text: 'Salam! iPhone hələ satılır? Qiymətdə endirim mümkündür?' },
  { from: 'rashad', clientId: 'demo-seed-listing-1001-2', text: 'Salam, bəli, satılır. Batareya 89%-dir. 1400 AZN-ə razılaşa bilərik.' },
] as const;

export async function seedDemo(services: Pick<Services, 'conversations' | 'messages'>): Promise<{ conversationId: string }> {
  for (const u of DEMO_USERS) await services.conversations.upsertUser({ ...u, roles: [...u.roles] });
  const conversation = await services.conversations.openDirect('aysel', { userId: 'rashad', context: DEMO_LISTING });
  for (const m of DEMO_MESSAGES) {
    await services.messages.send(m.from, { conversationId: conversation.id, clientId: m.clientId, text: m.text });
  }
  return { conversationId: conversation.id };
}
