import type { MessageDTO, SendInput } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { pgIntArray, pgTextArray, rows, sql, type Tx } from '../db/db.ts';
import { normalizeText } from './chat.domain.ts';
import { GroupCommit, type Submitted } from '../core/group-commit.ts';
import { messageDTO } from './chat.dto.ts';
import { chatRepo as repo, type MessageRow, type SendContext } from './chat.repo.ts';
import type { ChatDeps } from './conversations.service.ts';

/** What the batch decided for one message: stored, refused, or "take the single path" (a retry of a stored clientId). */
type Outcome = { dto: MessageDTO } | { error: unknown } | { single: true };

interface SendItem {
  actorId: string;
  input: SendInput;
}
type Pending = Submitted<SendItem, MessageDTO> & SendItem;

/**
 * Group commit for sends (see GroupCommit): one transaction and a fixed number of statements
 * per batch instead of per message. Seqs (G1) are still taken under each conversation's row
 * lock; rows are locked in id order (conversations, members, then users) so concurrent batches
 * and instances never deadlock. A batch that fails as a whole (a duplicate clientId raced in
 * from another instance, a lost connection) is retried message by message on the
 * single-message path, so one bad message never fails its neighbours.
 */
export class SendBatcher {
  private readonly commit: GroupCommit<SendItem, MessageDTO>;

  constructor(
    private readonly d: ChatDeps,
    private readonly sendOne: (actorId: string, input: SendInput) => Promise<MessageDTO>,
  ) {
    this.commit = new GroupCommit((batch) => this.flush(batch.map((b) => ({ ...b, ...b.item }))));
  }

  send(actorId: string, input: SendInput): Promise<MessageDTO> {
    return this.commit.submit({ actorId, input });
  }

  private async flush(batch: Pending[]): Promise<void> {
    // Same clientId twice in one batch: the later ones get the first one's result (G2).
    const firstByKey = new Map<string, Pending>();
    const followers: Array<[Pending, Pending]> = [];
    const unique: Pending[] = [];
    for (const p of batch) {
      const key = JSON.stringify([p.input.conversationId, p.input.clientId]);
      const first = firstByKey.get(key);
      if (first) followers.push([p, first]);
      else (firstByKey.set(key, p), unique.push(p));
    }
    const results = new Map<Pending, Promise<MessageDTO>>();
    let outcomes: Map<Pending, Outcome> | null = null;
    try {
      outcomes = await this.write(unique);
    } catch {
      outcomes = null;
    }
    for (const p of unique) {
      const o = outcomes?.get(p);
      results.set(p, !o || 'single' in o ? this.sendOne(p.actorId, p.input) : 'dto' in o ? Promise.resolve(o.dto) : Promise.reject(o.error));
    }
    for (const p of unique) settle(p, results.get(p)!);
    for (const [p, first] of followers) settle(p, results.get(first)!.then((m) => (m.senderId === p.actorId ? m : Promise.reject(new AppError('chat.client_id_conflict')))));
  }

  /** Writes the batch in one transaction; returns each message's outcome (typed refusals per message). */
  private async write(batch: Pending[]): Promise<Map<Pending, Outcome>> {
    const out = new Map<Pending, Outcome>();
    const refuse = (p: Pending, error: unknown) => out.set(p, { error });
    await this.d.events.write(async (tx, emit) => {
      const convIds = [...new Set(batch.map((p) => p.input.conversationId))].sort();
      const replying = batch.filter((p) => p.input.replyToSeq !== undefined);
      await repo.lockConversations(tx, convIds);
      const ctx = await repo.sendContext(tx, {
        conversationIds: convIds,
        sends: batch.map((p) => ({ conversationId: p.input.conversationId, clientId: p.input.clientId, actorId: p.actorId })),
        replies: replying.map((p) => ({ conversationId: p.input.conversationId, seq: p.input.replyToSeq! })),
      });
      const byConversation = new Map<string, typeof ctx.members>();
      for (const m of ctx.members) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m]);
      const membersOf = (cid: string) => byConversation.get(cid) ?? [];
      const stored = new Set(ctx.priors.map((r) => JSON.stringify([r.conversationId, r.clientId])));
      const blocked = new Set(ctx.blocked.map((r) => `${r.conversationId}\n${r.userId}`));
      const replyOf = (cid: string, seq: number) => ctx.replies.find((r) => r.conversationId === cid && r.seq === seq);

      const accepted: Array<{ p: Pending; text: string | null; members: string[]; reply: SendContext['replies'][number] | undefined }> = [];
      for (const p of batch) {
        const { conversationId, clientId } = p.input;
        const members = membersOf(conversationId);
        const me = members.find((m) => m.userId === p.actorId);
        if (stored.has(JSON.stringify([conversationId, clientId]))) {
          out.set(p, { single: true }); // a retry: the single path returns the stored message
          continue;
        }
        if (!me) {
          refuse(p, new AppError('chat.not_member', 'you are not a member of this conversation'));
          continue;
        }
        if (blocked.has(`${conversationId}\n${p.actorId}`)) {
          refuse(p, new AppError('chat.blocked', 'this user does not accept your messages'));
          continue;
        }
        let reply: SendContext['replies'][number] | undefined;
        if (p.input.replyToSeq !== undefined) {
          reply = replyOf(conversationId, p.input.replyToSeq);
          if (!reply || p.input.replyToSeq <= me.joinedSeq) {
            refuse(p, new AppError('chat.message_not_found', 'the message you reply to does not exist'));
            continue;
          }
        }
        try {
          accepted.push({ p, text: normalizeText(p.input.text, !p.input.payload), members: members.map((m) => m.userId), reply });
        } catch (e) {
          refuse(p, e);
        }
      }
      if (accepted.length === 0) return;
      await this.insert(tx, emit, accepted, out);
    });
    return out;
  }

  private async insert(
    tx: Tx,
    emit: Parameters<Parameters<ChatDeps['events']['write']>[0]>[1],
    accepted: Array<{ p: Pending; text: string | null; members: string[]; reply: SendContext['replies'][number] | undefined }>,
    out: Map<Pending, Outcome>,
  ): Promise<void> {
    const now = this.d.clock.now();
    const counts = new Map<string, number>();
    for (const a of accepted) counts.set(a.p.input.conversationId, (counts.get(a.p.input.conversationId) ?? 0) + 1);
    const ids = [...counts.keys()].sort();
    const tops = await rows<{ id: string; last_seq: number }>(
      tx,
      sql`update conversations c set last_seq = c.last_seq + n.k, last_message_at = ${now.toISOString()}
          from unnest(${pgTextArray(ids)}::text[], ${pgIntArray(ids.map((i) => counts.get(i)!))}::int[]) n(id, k)
          where c.id = n.id returning c.id, c.last_seq`,
    );
    const next = new Map(tops.map((t) => [t.id, Number(t.last_seq) - counts.get(t.id)!]));
    const msgRows: MessageRow[] = [];
    const marks = new Map<string, { cid: string; uid: string; seq: number }>();
    for (const a of accepted) {
      const cid = a.p.input.conversationId;
      const seq = next.get(cid)! + 1;
      next.set(cid, seq);
      const row: MessageRow = {
        conversationId: cid, seq, id: newId('m'), clientId: a.p.input.clientId, senderId: a.p.actorId,
        kind: a.p.input.payload ? 'listing' : 'text', text: a.text, payload: a.p.input.payload ?? null,
        replyToSeq: a.p.input.replyToSeq ?? null, forwarded: false, createdAt: now, editedAt: null, deletedAt: null,
      };
      msgRows.push(row);
      marks.set(`${cid}\n${a.p.actorId}`, { cid, uid: a.p.actorId, seq });
      const reply = a.reply ? ({ seq: a.reply.seq, senderId: a.reply.senderId, text: a.reply.text, deletedAt: a.reply.deleted ? now : null } as MessageRow) : null;
      const dto = messageDTO(row, [], reply);
      emit(a.members, 'chat.message.created', { message: dto });
      await this.d.webhooks?.enqueue(tx, 'message.created', { message: dto });
      out.set(a.p, { dto });
    }
    // Sending marks everything up to your own message as read by you (G4).
    await repo.storeSent(tx, msgRows, [...marks.values()].map((x) => ({ conversationId: x.cid, userId: x.uid, read: x.seq, delivered: x.seq })));
  }
}

function settle(p: Pending, r: Promise<MessageDTO>): void {
  r.then(p.resolve, p.reject);
}
