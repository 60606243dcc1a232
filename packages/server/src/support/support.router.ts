import {
  cannedInput, cannedRef, operatorUpdateInput, supervisorReassignInput, supportChatRef, supportNoteInput, supportParkInput, supportPriorityInput,
  supportRateInput, supportStartInput, supportTransferInput, userId,
} from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { auditedForAdmins, router, serverProcedure, userProcedure } from '../core/trpc.ts';

/** A signed-in user whose token carries the `operator` role. */
const operatorProcedure = userProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user.roles.includes('operator')) throw new AppError('support.not_operator', 'this needs the operator role');
  await ctx.services.support.ensureOperator(ctx.user.id);
  return next();
});

/** A supervisor: an operator whose token also carries the `admin` role. */
const supervisorProcedure = operatorProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user.roles.includes('admin')) throw new AppError('support.not_supervisor', 'this needs the admin role');
  return next();
});

/** Live support for customers (start, mine, get) and operators (the console). */
export const supportRouter = router({
  start: userProcedure.input(supportStartInput).mutation(({ ctx, input }) => ctx.services.support.start(ctx.user.id, input)),
  mine: userProcedure.query(({ ctx }) => ctx.services.support.mine(ctx.user.id)),
  get: userProcedure.input(supportChatRef).query(({ ctx, input }) => ctx.services.support.view(ctx.user.id, input.chatId, ctx.user.roles.includes('operator'))),
  rate: userProcedure.input(supportRateInput).mutation(({ ctx, input }) => ctx.services.supportDesk.rate(ctx.user.id, input)),

  me: operatorProcedure.query(({ ctx }) => ctx.services.support.operatorState(ctx.user.id)),
  updateMe: operatorProcedure.input(operatorUpdateInput).mutation(({ ctx, input }) => ctx.services.support.updateOperator(ctx.user.id, input)),
  operators: operatorProcedure.query(({ ctx }) => ctx.services.support.operators()),
  queue: operatorProcedure.query(({ ctx }) => ctx.services.support.queue()),
  myChats: operatorProcedure.query(({ ctx }) => ctx.services.support.myChats(ctx.user.id)),
  decisions: operatorProcedure.input(supportChatRef).query(({ ctx, input }) => ctx.services.support.decisions(input.chatId)),
  accept: operatorProcedure.input(supportChatRef).mutation(({ ctx, input }) => ctx.services.support.accept(ctx.user.id, input.chatId)),
  decline: operatorProcedure.input(supportChatRef).mutation(({ ctx, input }) => ctx.services.support.decline(ctx.user.id, input.chatId)),
  pick: operatorProcedure.input(supportChatRef).mutation(({ ctx, input }) => ctx.services.support.pick(ctx.user.id, input.chatId)),
  transfer: operatorProcedure.input(supportTransferInput).mutation(({ ctx, input }) => ctx.services.support.transfer(ctx.user.id, input)),
  setState: operatorProcedure.input(supportParkInput).mutation(({ ctx, input }) => ctx.services.support.setState(ctx.user.id, input)),
  setPriority: operatorProcedure.use(auditedForAdmins).input(supportPriorityInput).mutation(({ ctx, input }) => ctx.services.support.setPriority(input.chatId, input.priority)),
  resolve: operatorProcedure.input(supportChatRef).mutation(({ ctx, input }) => ctx.services.support.resolve(ctx.user.id, input.chatId)),
  addNote: operatorProcedure.input(supportNoteInput).mutation(({ ctx, input }) => ctx.services.supportDesk.addNote(ctx.user.id, input)),
  notes: operatorProcedure.input(supportChatRef).query(({ ctx, input }) => ctx.services.supportDesk.notes(input.chatId)),
  canned: operatorProcedure.query(({ ctx }) => ctx.services.supportDesk.canned(ctx.user.id)),
  addCanned: operatorProcedure.input(cannedInput).mutation(({ ctx, input }) => ctx.services.supportDesk.addCanned({ id: ctx.user.id, admin: ctx.user.roles.includes('admin') }, input)),
  deleteCanned: operatorProcedure.input(cannedRef).mutation(({ ctx, input }) => ctx.services.supportDesk.deleteCanned({ id: ctx.user.id, admin: ctx.user.roles.includes('admin') }, input.id)),

  // Supervisor view (operator + admin roles).
  metrics: supervisorProcedure.query(({ ctx }) => ctx.services.supportDesk.metrics()),
  openChats: supervisorProcedure.query(({ ctx }) => ctx.services.supportDesk.openChats()),
  reassign: supervisorProcedure.use(auditedForAdmins).input(supervisorReassignInput).mutation(({ ctx, input }) => ctx.services.supportDesk.reassign(ctx.user.id, input)),
});

/** Support procedures of the server API (x-api-key): priorities and operator setup from the host backend. */
export const supportServerRouter = router({
  setPriority: serverProcedure.input(supportPriorityInput).mutation(({ ctx, input }) => ctx.services.support.setPriority(input.chatId, input.priority)),
  setOperator: serverProcedure
    .input(operatorUpdateInput.extend({ userId }))
    .mutation(({ ctx, input: { userId: id, ...set } }) => ctx.services.support.updateOperator(id, set)),
  decisions: serverProcedure.input(supportChatRef).query(({ ctx, input }) => ctx.services.support.decisions(input.chatId)),
  metrics: serverProcedure.query(({ ctx }) => ctx.services.supportDesk.metrics()),
});

