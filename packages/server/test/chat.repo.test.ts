import { beforeAll, describe, expect, it } from 'vitest';
import { chatRepo as repo } from '../src/chat/chat.repo.ts';
import { conversations, members, messages, supportChats, users } from '../src/db/schema.ts';
import { supportRepo } from '../src/support/support.repo.ts';
import { dbKinds, useTestDatabase } from './harness.ts';

/**
 * Plain-SQL reads of the chat hot path, pinned to the Drizzle reads they replace, on PGlite and
 * PostgreSQL: conversationParts (a conversation's update to its members) and appendMessageToMembers
 * (a system notice).
 */
describe.each(dbKinds)('chat repo on %s', (kind) => {
  const { db } = useTestDatabase(kind);
  const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s, 567));
  beforeAll(async () => {
    await db().insert(users).values([
      { id: 'ua', name: 'A "a"', avatarUrl: 'https://x/a.png', roles: ['operator', 'admin'], lastSeenAt: at(1) },
      { id: 'ub', name: 'B' },
      { id: 'uc', name: 'C' },
    ]);
    await db().insert(conversations).values([
      { id: 'cg', kind: 'group', directKey: null, title: 'Support · order', context: { type: 'order', id: 'o1', title: 'Ä' }, lastSeq: 7, lastMessageAt: at(2), createdBy: 'ua', createdAt: at(3) },
      { id: 'cd', kind: 'direct', directKey: 'ua|ub', createdAt: at(4) },
      { id: 'cempty', kind: 'group', directKey: null },
    ]);
    await db().insert(members).values([
      { conversationId: 'cg', userId: 'ua', role: 'owner', lastReadSeq: 5, lastDeliveredSeq: 6, muted: true, archived: true, joinedSeq: 2 },
      { conversationId: 'cg', userId: 'ub' },
      { conversationId: 'cd', userId: 'ua' },
      { conversationId: 'cd', userId: 'uc' },
    ]);
    await db().insert(supportChats).values({ id: 's1', conversationId: 'cg', customerId: 'ub', topic: 'order', firstMessage: 'hi', queuedAt: at(5) });
  });

  it('conversationParts reads the conversation, its members, their users and its support topic as the separate Drizzle reads do', async () => {
    for (const id of ['cg', 'cd', 'cempty']) {
      const parts = (await repo.conversationParts(db(), id))!;
      expect(parts.conversation).toEqual(await repo.conversation(db(), id));
      const byUser = <T extends { userId?: string; id?: string }>(xs: T[]) => [...xs].sort((a, b) => ((a.userId ?? a.id)! < (b.userId ?? b.id)! ? -1 : 1));
      expect(byUser(parts.members)).toEqual(byUser(await repo.membersOfMany(db(), [id])));
      const memberIds = parts.members.map((m) => m.userId);
      expect(byUser(parts.users)).toEqual(byUser(await repo.usersByIds(db(), memberIds)));
      expect(parts.supportTopic).toBe((await supportRepo.topicsByConversation(db(), [id])).get(id) ?? null);
    }
    expect((await repo.conversationParts(db(), 'cg'))!.supportTopic).toBe('order');
    expect(await repo.conversationParts(db(), 'nope')).toBeNull();
  });

  it('appendMessageToMembers stores the message at the next seq and returns the members to tell; a missing conversation is chat.not_found', async () => {
    const m = { conversationId: 'cg', id: 'm-x', clientId: 'c-x', senderId: null, kind: 'system' as const, text: 'Resolved', payload: { type: 'notice' as const, code: 'support.resolved', params: {} }, replyToSeq: null, forwarded: false, createdAt: at(9), editedAt: null, deletedAt: null };
    const r = await repo.appendMessageToMembers(db(), m);
    expect(r.seq).toBe(8);
    expect(r.memberIds.sort()).toEqual(['ua', 'ub']);
    expect((await repo.message(db(), 'cg', 8))).toMatchObject({ id: 'm-x', clientId: 'c-x', kind: 'system', text: 'Resolved', createdAt: at(9) });
    expect((await repo.conversation(db(), 'cg'))!.lastSeq).toBe(8);
    await expect(repo.appendMessageToMembers(db(), { ...m, conversationId: 'nope', id: 'm-y' })).rejects.toMatchObject({ code: 'chat.not_found' });
    expect((await db().select().from(messages)).length).toBe(1);
  });
});
