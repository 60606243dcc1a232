import { z } from 'zod';
import {
  archiveInput, blockInput, conversationRef, createGroupInput, deleteInput, editInput, historyInput, listInput, markInput,
  membersInput, muteInput, openDirectInput, presenceInput, reactInput, reportInput, searchInput, sendInput, typingInput, userId,
} from '@sohbet/protocol';
import { chatReportInput } from '@sohbet/protocol';
import { router, userProcedure } from '../core/trpc.ts';

/** Conversations and messages for signed-in users. */
export const chatRouter = router({
  openDirect: userProcedure.input(openDirectInput).mutation(({ ctx, input }) => ctx.services.conversations.openDirect(ctx.user.id, input)),
  createGroup: userProcedure.input(createGroupInput).mutation(({ ctx, input }) => ctx.services.conversations.createGroup(ctx.user.id, input)),
  addMembers: userProcedure.input(membersInput).mutation(({ ctx, input }) => ctx.services.conversations.addMembers(ctx.user.id, input)),
  removeMember: userProcedure
    .input(z.object({ conversationId: conversationRef.shape.conversationId, userId }))
    .mutation(({ ctx, input }) => ctx.services.conversations.removeMember(ctx.user.id, input)),
  list: userProcedure.input(listInput).query(({ ctx, input }) => ctx.services.conversations.list(ctx.user.id, input)),
  get: userProcedure.input(conversationRef).query(({ ctx, input }) => ctx.services.conversations.view(ctx.user.id, input.conversationId)),
  setMuted: userProcedure.input(muteInput).mutation(({ ctx, input }) => ctx.services.conversations.setMuted(ctx.user.id, input.conversationId, input.muted)),
  setArchived: userProcedure.input(archiveInput).mutation(({ ctx, input }) => ctx.services.conversations.setArchived(ctx.user.id, input.conversationId, input.archived)),
  send: userProcedure.input(sendInput).mutation(({ ctx, input }) => ctx.services.messages.send(ctx.user.id, input)),
  history: userProcedure.input(historyInput).query(({ ctx, input }) => ctx.services.messages.history(ctx.user.id, input)),
  edit: userProcedure.input(editInput).mutation(({ ctx, input }) => ctx.services.messages.edit(ctx.user.id, input)),
  delete: userProcedure.input(deleteInput).mutation(({ ctx, input }) => ctx.services.messages.delete(ctx.user.id, input)),
  react: userProcedure.input(reactInput).mutation(({ ctx, input }) => ctx.services.messages.react(ctx.user.id, input)),
  markRead: userProcedure.input(markInput).mutation(({ ctx, input }) => ctx.services.messages.markRead(ctx.user.id, input)),
  markDelivered: userProcedure.input(markInput).mutation(({ ctx, input }) => ctx.services.messages.markDelivered(ctx.user.id, input)),
  typing: userProcedure.input(typingInput).mutation(({ ctx, input }) => ctx.services.messages.typing(ctx.user.id, input.conversationId)),
  search: userProcedure.input(searchInput).query(({ ctx, input }) => ctx.services.messages.search(ctx.user.id, input)),
  /** Reports a user or one message (`messageId`) to the moderators, with the messages around it as evidence (safety). */
  report: userProcedure.input(chatReportInput).mutation(({ ctx, input }) => ctx.services.safety.report(ctx.user.id, input)),
});

/** People: profile lookups, presence, blocking. */
export const usersRouter = router({
  me: userProcedure.query(({ ctx }) => ({ id: ctx.user.id, name: ctx.user.name, avatarUrl: ctx.user.avatarUrl, roles: ctx.user.roles })),
  get: userProcedure.input(presenceInput).query(({ ctx, input }) => ctx.services.conversations.users(input.userIds)),
  presence: userProcedure.input(presenceInput).query(({ ctx, input }) => ctx.services.conversations.presence(ctx.user.id, input.userIds)),
  block: userProcedure.input(blockInput).mutation(({ ctx, input }) => ctx.services.conversations.setBlocked(ctx.user.id, input.userId, true)),
  unblock: userProcedure.input(blockInput).mutation(({ ctx, input }) => ctx.services.conversations.setBlocked(ctx.user.id, input.userId, false)),
  blocked: userProcedure.query(({ ctx }) => ctx.services.conversations.blockedUsers(ctx.user.id)),
  /** Reports a user (spam, scam, abuse) to the host's moderators, with the conversation attached. */
  report: userProcedure.input(reportInput).mutation(({ ctx, input }) => ctx.services.conversations.report(ctx.user.id, input)),
});
