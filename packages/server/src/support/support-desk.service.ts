import type { CannedResponseDTO, SupportChatDTO, SupportMetricsDTO, SupportNoteDTO, SupportPriority } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { supportDeskRepo as desk, type CannedRow, type NoteRow } from './support-desk.repo.ts';
import { OWNED_STATES } from './support.domain.ts';
import { supportChatDTO } from './support.dto.ts';
import { supportEvents } from './support.events.ts';
import { supportRepo as repo } from './support.repo.ts';
import type { SupportDeps, SupportService } from './support.service.ts';

/**
 * The operator desk around a support chat: the customer's rating (CSAT), internal notes, canned
 * responses and the supervisor's view. Ownership changes still go through SupportService.move (G5).
 */
export class SupportDeskService {
  constructor(
    private readonly d: SupportDeps,
    private readonly support: SupportService,
  ) {}

  private get db() {
    return this.d.database.db;
  }

  /** The customer rates a resolved chat once (1-5, optional comment); operators see it on the chat. */
  async rate(customerId: string, input: { chatId: string; score: number; comment?: string }): Promise<SupportChatDTO> {
    const chat = await repo.chat(this.db, input.chatId);
    if (!chat || chat.customerId !== customerId) throw new AppError('support.not_found', 'no such support chat');
    if (chat.state !== 'resolved') throw new AppError('support.invalid_state', 'only a resolved chat can be rated');
    if (chat.csatScore !== null) throw new AppError('support.already_rated', 'this chat is already rated');
    await this.support.write(async (tx, emit) => {
      const r = await desk.rate(tx, chat.id, customerId, input.score, input.comment ?? null, this.d.clock.now());
      if (!r) throw new AppError('support.already_rated', 'this chat is already rated'); // a concurrent rating won
      supportEvents.chatUpdated(emit, [r.customerId, r.operatorId], supportChatDTO(r, await this.support.people(tx, [r.customerId, r.operatorId])));
    });
    this.d.metrics.csat.observe({ topic: chat.topic, priority: chat.priority }, input.score);
    return this.support.view(customerId, chat.id);
  }

  /** An internal note: stored apart from the conversation, sent to operators only — never to the customer. */
  async addNote(operatorId: string, input: { chatId: string; text: string }): Promise<SupportNoteDTO> {
    const chat = await this.support.chatOr404(input.chatId);
    const row: NoteRow = { id: newId('note'), chatId: chat.id, authorId: operatorId, text: input.text, createdAt: this.d.clock.now() };
    return this.support.write(async (tx, emit) => {
      await desk.insertNote(tx, row);
      const people = await this.support.people(tx, [operatorId]);
      const dto = noteDTO(row, people);
      const ops = (await repo.operators(tx)).map((o) => o.userId).filter((u) => u !== chat.customerId);
      emit(ops, 'support.note.created', { note: dto });
      return dto;
    });
  }

  async notes(chatId: string): Promise<SupportNoteDTO[]> {
    const list = await desk.notes(this.db, chatId);
    const people = await this.support.people(this.db, list.map((n) => n.authorId));
    return list.map((n) => noteDTO(n, people));
  }

  /** The responses this operator may insert: personal, their teams' and global ones. */
  async canned(operatorId: string): Promise<CannedResponseDTO[]> {
    const op = await repo.operator(this.db, operatorId);
    return (await desk.cannedFor(this.db, operatorId, op?.topics ?? [])).map(cannedDTO);
  }

  /** Operators add personal responses; team (topic) responses need the admin role. */
  async addCanned(actor: { id: string; admin: boolean }, input: { title: string; text: string; topic?: string }): Promise<CannedResponseDTO> {
    if (input.topic && !actor.admin) throw new AppError('support.not_supervisor', 'team responses are managed by supervisors');
    const row: CannedRow = { id: newId('canned'), topic: input.topic ?? null, ownerId: input.topic ? null : actor.id, title: input.title, text: input.text, createdAt: this.d.clock.now() };
    await desk.insertCanned(this.db, row);
    return cannedDTO(row);
  }

  async deleteCanned(actor: { id: string; admin: boolean }, id: string): Promise<void> {
    const row = await desk.canned(this.db, id);
    if (!row) throw new AppError('support.not_found', 'no such canned response');
    if (row.ownerId !== actor.id && !actor.admin) throw new AppError('support.not_supervisor', 'not your canned response');
    await desk.deleteCanned(this.db, id);
  }

  /** Supervisor: live counts and service metrics (p50/p95), per topic and priority. */
  async metrics(): Promise<SupportMetricsDTO> {
    const now = this.d.clock.now();
    const c = await desk.counts(this.db, now);
    const p = await desk.servicePercentiles(this.db);
    const open = { offered: 0, assigned: 0, pending: 0, snoozed: 0 };
    for (const x of c.open) if (x.state in open) open[x.state as keyof typeof open] = Number(x.count);
    return {
      queued: c.queued.map((x) => ({ topic: x.topic, priority: x.priority as SupportPriority, count: Number(x.count), oldestSeconds: Math.round(Number(x.oldest)) })),
      open,
      timeToAssign: p.timeToAssign,
      timeToFirstResponse: p.timeToFirstResponse,
      handleTime: p.handleTime,
      csat: p.csat,
      byTopic: p.byTopic.map((x) => ({ ...x, priority: x.priority as SupportPriority })),
      slaBreaches: { wait: Number(c.sla.wait), firstResponse: Number(c.sla.fr) },
    };
  }

  /** Supervisor: every open chat (waiting and owned). */
  async openChats(): Promise<SupportChatDTO[]> {
    return this.support.dtos(await repo.open(this.db));
  }

  /** Supervisor: moves an owned chat to another operator through the same atomic hand-over as a transfer (G5). */
  async reassign(supervisorId: string, input: { chatId: string; toOperatorId: string }): Promise<SupportChatDTO> {
    const chat = await this.support.chatOr404(input.chatId);
    if (!OWNED_STATES.includes(chat.state)) throw new AppError('support.invalid_state', `the chat is ${chat.state}`);
    return this.support.handOver(supervisorId, chat, { toOperatorId: input.toOperatorId, note: 'reassigned by a supervisor' });
  }
}

function noteDTO(n: NoteRow, people: Map<string, { id: string; name: string; avatarUrl: string | null }>): SupportNoteDTO {
  return { id: n.id, chatId: n.chatId, author: people.get(n.authorId) ?? { id: n.authorId, name: n.authorId, avatarUrl: null }, text: n.text, createdAt: n.createdAt.toISOString() };
}

function cannedDTO(r: CannedRow): CannedResponseDTO {
  return { id: r.id, title: r.title, text: r.text, topic: r.topic, ownerId: r.ownerId };
}
