import type { SupportDeps } from './support.service.ts';
import { supportRepo as repo, type SupportChatRow } from './support.repo.ts';

/**
 * System notices in support chats. Each carries a code and params that apps translate
 * (`support.operator_joined`, `support.resolved`, `support.transferred_team`) and an English
 * `text` fallback for clients that do not know the code. The clientId includes the chat's
 * version, so a retried notice for the same change is stored once (G2).
 */
export class SupportNotices {
  constructor(private readonly d: Pick<SupportDeps, 'database' | 'messages' | 'log'>) {}

  async notice(chat: SupportChatRow, code: string, text: string, params: Record<string, string>): Promise<void> {
    const fresh = await repo.chat(this.d.database.db, chat.id);
    await this.d.messages
      .sendSystem(chat.conversationId, { clientId: `${code.slice(8, 20)}-${chat.id.slice(-20)}-${fresh?.version ?? 0}`, text, code, params })
      .catch((err) => this.d.log.warn({ err: (err as Error).message, code }, 'support notice failed'));
  }

  /** "<name> joined", with the operator's name and id. */
  async joined(chat: SupportChatRow, operatorId: string): Promise<void> {
    const [p] = await repo.people(this.d.database.db, [operatorId]);
    const name = p?.name ?? operatorId;
    const fresh = await repo.chat(this.d.database.db, chat.id);
    await this.d.messages
      .sendSystem(chat.conversationId, { clientId: `support-join-${chat.id.slice(-20)}-${fresh?.version ?? 0}`, text: `${name} joined`, code: 'support.operator_joined', params: { name, userId: operatorId } })
      .catch((err) => this.d.log.warn({ err: (err as Error).message }, 'support join notice failed'));
  }
}
