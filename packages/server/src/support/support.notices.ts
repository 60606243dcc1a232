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

  /** `chat` is the row as the change that this notice tells of left it (its version names the change). */
  async notice(chat: SupportChatRow, code: string, text: string, params: Record<string, string>): Promise<void> {
    await this.d.messages
      .sendSystem(chat.conversationId, { clientId: `${code.slice(8, 20)}-${chat.id.slice(-20)}-${chat.version}`, text, code, params })
      .catch((err) => this.d.log.warn({ err: (err as Error).message, code }, 'support notice failed'));
  }

  /** "<name> joined", with the operator's name (read unless the caller has it) and id; `chat` as for `notice`. */
  async joined(chat: SupportChatRow, operatorId: string, knownName?: string): Promise<void> {
    const name = knownName ?? (await repo.people(this.d.database.db, [operatorId]))[0]?.name ?? operatorId;
    await this.d.messages
      .sendSystem(chat.conversationId, { clientId: `support-join-${chat.id.slice(-20)}-${chat.version}`, text: `${name} joined`, code: 'support.operator_joined', params: { name, userId: operatorId } })
      .catch((err) => this.d.log.warn({ err: (err as Error).message }, 'support join notice failed'));
  }
}
