import type { ConversationContext, ConversationDTO, PresenceDTO } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Clock } from '../core/clock.ts';
import type { Database, Executor } from '../db/db.ts';
import type { Emit, EventLog } from '../realtime/event-log.ts';
import type { Presence } from '../realtime/presence.ts';
import { directKey } from './chat.domain.ts';
import { conversationDTO, messageDTO } from './chat.dto.ts';
import { chatRepo as repo, type MemberRow } from './chat.repo.ts';
import { supportRepo } from '../support/support.repo.ts';
import type { WebhookOutbox } from '../webhooks/webhooks.service.ts';
import { reports } from '../db/schema.ts';
import type { LimitsService } from '../abuse/limits.service.ts';

export interface ChatDeps {
  database: Database;
  events: EventLog;
  clock: Clock;
  presence: Presence;
  webhooks: WebhookOutbox | null;
  limits: LimitsService;
  editWindowMs: number;
}

/** Conversations: direct (one per pair and context) and group, membership, list, mute, archive, block. */
export class ConversationsService {
  constructor(private readonly d: ChatDeps) {}

  /** A member of the conversation, or `chat.not_member` — the same answer whether it exists or not. */
  async requireMember(ex: Executor, conversationId: string, userId: string): Promise<MemberRow> {
    const m = await repo.member(ex, conversationId, userId);
    if (!m) throw new AppError('chat.not_member', 'you are not a member of this conversation');
    return m;
  }

  /** Claims stored recently, to skip a write on every request; a cache only (the upsert is idempotent). */
  private readonly upserted = new Map<string, string>();

  /** Creates or refreshes a user from token claims or the server API. */
  async upsertUser(u: { id: string; name: string; avatarUrl: string | null; roles: string[] }): Promise<void> {
    const claims = JSON.stringify([u.name, u.avatarUrl, u.roles]);
    if (this.upserted.get(u.id) === claims) return;
    await repo.upsertUser(this.d.database.db, u);
    if (this.upserted.size > 50_000) this.upserted.clear();
    this.upserted.set(u.id, claims);
  }

  /**
   * `by: 'server'` is the host backend (server API), which is trusted with its own pace; users
   * are held to the new-conversation limits.
   */
  async openDirect(actorId: string, input: { userId: string; context?: ConversationContext }, by: 'user' | 'server' = 'user'): Promise<ConversationDTO> {
    if (input.userId === actorId) throw new AppError('chat.self_conversation', 'you cannot open a conversation with yourself');
    const key = directKey(actorId, input.userId, input.context);
    const existing = await repo.conversationByDirectKey(this.d.database.db, key);
    if (existing) return this.view(actorId, existing.id);
    const found = await repo.ensureUsers(this.d.database.db, [input.userId]);
    if (found.length === 0) throw new AppError('user.not_found', 'no such user');
    if (by === 'user') await this.d.limits.newConversation(actorId, await repo.userCreatedAt(this.d.database.db, actorId));
    const id = await this.d.events.write(async (tx, emit) => {
      const cid = newId('c');
      const inserted = await repo.insertConversation(tx, { id: cid, kind: 'direct', directKey: key, title: null, context: input.context ?? null, createdBy: actorId });
      if (!inserted) return (await repo.conversationByDirectKey(tx, key))!.id; // a concurrent open won
      await repo.addMembers(tx, cid, [
        { userId: actorId, role: 'member', joinedSeq: 0 },
        { userId: input.userId, role: 'member', joinedSeq: 0 },
      ]);
      await this.emitConversation(tx, emit, cid, [actorId, input.userId]);
      return cid;
    });
    return this.view(actorId, id);
  }

  async createGroup(actorId: string, input: { title: string; memberIds: string[] }): Promise<ConversationDTO> {
    const others = [...new Set(input.memberIds.filter((u) => u !== actorId))];
    const found = await repo.ensureUsers(this.d.database.db, others);
    if (found.length !== others.length) throw new AppError('user.not_found', 'some users do not exist', { missing: others.filter((u) => !found.includes(u)) });
    await this.refuseBlockers(this.d.database.db, actorId, others);
    await this.d.limits.newConversation(actorId, await repo.userCreatedAt(this.d.database.db, actorId));
    const id = await this.d.events.write(async (tx, emit) => {
      const cid = newId('c');
      await repo.insertConversation(tx, { id: cid, kind: 'group', directKey: null, title: input.title, context: null, createdBy: actorId });
      await repo.addMembers(tx, cid, [{ userId: actorId, role: 'owner', joinedSeq: 0 }, ...others.map((u) => ({ userId: u, role: 'member' as const, joinedSeq: 0 }))]);
      await this.emitConversation(tx, emit, cid, [actorId, ...others]);
      return cid;
    });
    return this.view(actorId, id);
  }

  async addMembers(actorId: string, input: { conversationId: string; userIds: string[] }): Promise<ConversationDTO> {
    await this.d.events.write(async (tx, emit) => {
      const me = await this.requireMember(tx, input.conversationId, actorId);
      const conv = (await repo.conversation(tx, input.conversationId))!;
      if (conv.kind !== 'group') throw new AppError('chat.not_group', 'members can only be added to a group');
      if (me.role === 'member') throw new AppError('chat.not_admin', 'only group admins can add members');
      const found = await repo.ensureUsers(tx, input.userIds);
      if (found.length !== new Set(input.userIds).size) throw new AppError('user.not_found', 'some users do not exist');
      await this.refuseBlockers(tx, actorId, found);
      // New members see history from the moment they join.
      const added = await repo.addMembers(tx, conv.id, found.map((u) => ({ userId: u, role: 'member' as const, joinedSeq: conv.lastSeq })));
      const all = (await repo.members(tx, conv.id)).map((m) => m.userId);
      if (added.length) await this.emitConversation(tx, emit, conv.id, all);
    });
    return this.view(actorId, input.conversationId);
  }

  /** Putting someone who blocked you into a group would route around the block. */
  private async refuseBlockers(ex: Executor, actorId: string, userIds: string[]): Promise<void> {
    if ((await repo.blockersAmong(ex, actorId, userIds)).length > 0) throw new AppError('chat.blocked', 'someone you add does not accept your messages');
  }

  /** Leaves a group, or removes someone from it (admins). */
  async removeMember(actorId: string, input: { conversationId: string; userId: string }): Promise<void> {
    await this.d.events.write(async (tx, emit) => {
      const me = await this.requireMember(tx, input.conversationId, actorId);
      const conv = (await repo.conversation(tx, input.conversationId))!;
      if (conv.kind !== 'group') throw new AppError('chat.not_group', 'you cannot leave a direct conversation; archive or block instead');
      if (input.userId !== actorId && me.role === 'member') throw new AppError('chat.not_admin', 'only group admins can remove members');
      if (!(await repo.removeMember(tx, conv.id, input.userId))) return;
      emit([input.userId], 'chat.conversation.removed', { conversationId: conv.id });
      const rest = (await repo.members(tx, conv.id)).map((m) => m.userId);
      await this.emitConversation(tx, emit, conv.id, rest);
    });
  }

  async setMuted(actorId: string, conversationId: string, muted: boolean): Promise<ConversationDTO> {
    return this.setFlags(actorId, conversationId, { muted });
  }

  async setArchived(actorId: string, conversationId: string, archived: boolean): Promise<ConversationDTO> {
    return this.setFlags(actorId, conversationId, { archived });
  }

  private async setFlags(actorId: string, conversationId: string, flags: { muted?: boolean; archived?: boolean }): Promise<ConversationDTO> {
    await this.d.events.write(async (tx, emit) => {
      await this.requireMember(tx, conversationId, actorId);
      await repo.setMemberFlags(tx, conversationId, actorId, flags);
      await this.emitConversation(tx, emit, conversationId, [actorId]);
    });
    return this.view(actorId, conversationId);
  }

  async setBlocked(actorId: string, userId: string, blocked: boolean): Promise<void> {
    if (userId === actorId) throw new AppError('input.invalid', 'you cannot block yourself');
    if ((await repo.ensureUsers(this.d.database.db, [userId])).length === 0) throw new AppError('user.not_found', 'no such user');
    await this.d.events.write(async (tx, emit) => {
      if (await repo.setBlock(tx, actorId, userId, blocked)) emit([actorId], 'user.block.updated', { userId, blocked });
    });
  }

  /**
   * Reports a user to the host's moderators: stored with copies of the conversation's recent
   * messages (so deleting them later hides nothing) and sent as a `user.reported` webhook.
   */
  async report(actorId: string, input: { userId: string; reason: string; conversationId?: string; note?: string }): Promise<{ reportId: number }> {
    if (input.userId === actorId) throw new AppError('input.invalid', 'you cannot report yourself');
    if ((await repo.ensureUsers(this.d.database.db, [input.userId])).length === 0) throw new AppError('user.not_found', 'no such user');
    let evidence: unknown[] = [];
    if (input.conversationId) {
      const me = await this.requireMember(this.d.database.db, input.conversationId, actorId);
      if (!(await repo.member(this.d.database.db, input.conversationId, input.userId))) throw new AppError('chat.not_member', 'the reported user is not in this conversation');
      const recent = await repo.history(this.d.database.db, { conversationId: input.conversationId, userId: actorId, floorSeq: me.joinedSeq, limit: 50 });
      evidence = recent.map((m) => messageDTO(m));
    }
    return this.d.events.write(async (tx) => {
      const [row] = await tx
        .insert(reports)
        .values({ reporterId: actorId, reportedId: input.userId, conversationId: input.conversationId ?? null, reason: input.reason, note: input.note ?? null, evidence })
        .returning({ id: reports.id });
      await this.d.webhooks?.enqueue(tx, 'user.reported', { reportId: row!.id, reporterId: actorId, reportedId: input.userId, conversationId: input.conversationId ?? null, reason: input.reason, note: input.note ?? null, evidence });
      return { reportId: row!.id };
    });
  }

  async blockedUsers(actorId: string): Promise<string[]> {
    return repo.blockedByMe(this.d.database.db, actorId);
  }

  /** One conversation as the actor sees it. */
  async view(actorId: string, conversationId: string, ex: Executor = this.d.database.db): Promise<ConversationDTO> {
    await this.requireMember(ex, conversationId, actorId);
    const [dto] = await this.views(ex, [conversationId], actorId);
    return dto!;
  }

  async list(actorId: string, q: { archived: boolean; limit: number; before?: string }): Promise<ConversationDTO[]> {
    const convs = await repo.listForUser(this.d.database.db, actorId, q);
    return this.build(this.d.database.db, actorId, convs);
  }

  private async views(ex: Executor, ids: string[], viewerId: string): Promise<ConversationDTO[]> {
    const out: ConversationDTO[] = [];
    for (const id of ids) {
      const c = await repo.conversation(ex, id);
      if (c) out.push(...(await this.build(ex, viewerId, [c])));
    }
    return out;
  }

  private async build(ex: Executor, viewerId: string, convs: Array<Parameters<typeof conversationDTO>[1]>): Promise<ConversationDTO[]> {
    return (await this.buildFor(ex, [viewerId], convs)).get(viewerId) ?? [];
  }

  /**
   * Conversations as each viewer sees them (unread, flags and last visible message differ per
   * member), with the queries shared: a conversation's update to all its members costs the same
   * few queries as one member's view.
   */
  private async buildFor(
    ex: Executor,
    viewerIds: string[],
    convs: Array<Parameters<typeof conversationDTO>[1]>,
    /** Rows already read with the conversation (conversationParts): one statement instead of three. */
    pre?: { members: Awaited<ReturnType<typeof repo.membersOfMany>>; users: Awaited<ReturnType<typeof repo.usersByIds>>; supportTopics: Map<string, string> },
  ): Promise<Map<string, ConversationDTO[]>> {
    const out = new Map<string, ConversationDTO[]>();
    if (convs.length === 0 || viewerIds.length === 0) return out;
    const ids = convs.map((c) => c.id);
    // Sequential: `ex` may be a transaction, and one connection runs one query at a time anyway.
    const allMembers = pre?.members ?? (await repo.membersOfMany(ex, ids));
    const lasts = await repo.lastMessages(ex, viewerIds, convs);
    // Blocks only show on direct conversations (the peer's "blocked" flag).
    const blocked = convs.some((c) => c.kind === 'direct') ? await repo.blockedBy(ex, viewerIds) : new Map<string, Set<string>>();
    const users = new Map((pre?.users ?? (await repo.usersByIds(ex, [...new Set(allMembers.map((m) => m.userId))]))).map((u) => [u.id, u]));
    const supportTopics = pre?.supportTopics ?? (await supportRepo.topicsByConversation(ex, ids));
    const membersOf = new Map<string, typeof allMembers>();
    for (const m of allMembers) {
      let list = membersOf.get(m.conversationId);
      if (!list) membersOf.set(m.conversationId, (list = []));
      list.push(m);
    }
    for (const viewerId of viewerIds) {
      const lastBy = new Map(lasts.filter((m) => m.viewerId === viewerId).map((m) => [m.conversationId, m]));
      const blockedSet = blocked.get(viewerId);
      out.set(
        viewerId,
        convs.map((c) => {
          const ms = membersOf.get(c.id) ?? [];
          const peer = c.kind === 'direct' ? ms.find((m) => m.userId !== viewerId)?.userId : undefined;
          const last = lastBy.get(c.id);
          const me = ms.find((m) => m.userId === viewerId);
          const visibleLast = last && me && last.seq > me.joinedSeq ? messageDTO(last) : null;
          const dto = conversationDTO(viewerId, c, ms, users, visibleLast, peer ? (blockedSet?.has(peer) ?? false) : false);
          const topic = supportTopics.get(c.id);
          return topic === undefined ? dto : { ...dto, titleCode: { code: 'support.title', params: { topic } } };
        }),
      );
    }
    return out;
  }

  /** Emits each member's own view of the conversation (it differs per member: unread, flags). */
  async emitConversation(ex: Executor, emit: Emit, conversationId: string, userIds: string[]): Promise<void> {
    const parts = await repo.conversationParts(ex, conversationId);
    if (!parts) return;
    const c = parts.conversation;
    const supportTopics = new Map(parts.supportTopic === null ? [] : [[c.id, parts.supportTopic]]);
    const views = await this.buildFor(ex, [...new Set(userIds)], [c], { members: parts.members, users: parts.users, supportTopics });
    for (const [u, [dto]] of views) if (dto) emit([u], 'chat.conversation.updated', { conversation: dto });
  }

  /** Online and last seen of these users, as the actor may see them: someone who blocked the actor shows neither. */
  async presence(actorId: string, userIds: string[]): Promise<PresenceDTO[]> {
    const hidden = new Set(await repo.blockersAmong(this.d.database.db, actorId, userIds));
    const online = await this.d.presence.online(userIds.filter((u) => !hidden.has(u)));
    const users = await repo.usersByIds(this.d.database.db, userIds);
    return users.map((u) => (hidden.has(u.id) ? { userId: u.id, online: false, lastSeenAt: null } : { userId: u.id, online: online.has(u.id), lastSeenAt: u.lastSeenAt?.toISOString() ?? null }));
  }

  async users(ids: string[]) {
    return (await repo.usersByIds(this.d.database.db, ids)).map((u) => ({ id: u.id, name: u.name, avatarUrl: u.avatarUrl, roles: u.roles }));
  }
}
