import type { Tx } from '../db/db.ts';
import type { Emit } from '../realtime/event-log.ts';
import type { SupportDeps } from './support.service.ts';
import { supportRepo as repo, type SupportChatRow } from './support.repo.ts';

/**
 * System notices in support chats. Each carries a code and params that apps translate
 * (`support.operator_joined`, `support.resolved`, `support.transferred_team`) and an English
 * `text` fallback for clients that do not know the code. A notice is stored in the transaction
 * of the change it tells of, so there is never a "joined" without the assignment, nor the reverse;
 * its clientId names the change (the chat's version after it), one notice per change (G2).
 */
export class SupportNotices {
  constructor(private readonly d: Pick<SupportDeps, 'messages'>) {}

  /** `chat` is the row as the change left it. */
  async notice(tx: Tx, emit: Emit, chat: SupportChatRow, code: string, text: string, params: Record<string, string>): Promise<void> {
    await this.d.messages.systemIn(tx, emit, chat.conversationId, { clientId: `${code.slice(8, 20)}-${chat.id.slice(-20)}-${chat.version}`, text, code, params });
  }

  /** "<name> joined", with the operator's name (read unless the caller has it) and id; `chat` as for `notice`. */
  async joined(tx: Tx, emit: Emit, chat: SupportChatRow, operatorId: string, knownName?: string): Promise<void> {
    const name = knownName ?? (await repo.people(tx, [operatorId]))[0]?.name ?? operatorId;
    await this.d.messages.systemIn(tx, emit, chat.conversationId, {
      clientId: `support-join-${chat.id.slice(-20)}-${chat.version}`, text: `${name} joined`, code: 'support.operator_joined', params: { name, userId: operatorId },
    });
  }
}
