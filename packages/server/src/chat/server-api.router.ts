import { z } from 'zod';
import { clientId, conversationContext, LIMITS, userId } from '@sohbet/protocol';
import { router, serverProcedure } from '../core/trpc.ts';
import { supportServerRouter } from '../support/support.router.ts';
import { notifyServerRouter } from '../notify/notify.router.ts';
import { safetyServerRouter } from '../safety/safety.router.ts';

const userInput = z.object({
  id: userId,
  name: z.string().trim().min(1).max(200),
  avatarUrl: z.string().url().max(2000).nullable().optional(),
  roles: z.array(z.string().max(32)).max(16).default([]),
});

/** Server-to-server API for the host backend (header `x-api-key: $SOHBET_API_KEY`). */
export const serverApiRouter = router({
  upsertUser: serverProcedure.input(userInput).mutation(async ({ ctx, input }) => {
    // Audited (safety) when it creates the user or changes what was stored.
    await ctx.services.safety.upsertUserByServer({ ...input, avatarUrl: input.avatarUrl ?? null });
    return { id: input.id };
  }),
  /** Opens (or returns) the conversation between a buyer and a seller about a listing. */
  openConversation: serverProcedure
    .input(z.object({ userIds: z.tuple([userId, userId]), context: conversationContext.optional() }))
    .mutation(({ ctx, input }) => ctx.services.conversations.openDirect(input.userIds[0], { userId: input.userIds[1], context: input.context }, 'server')),
  /** Posts a system notice ("the listing was sold") into a conversation. */
  postSystemMessage: serverProcedure
    .input(
      z.object({
        conversationId: z.string().min(1).max(LIMITS.idMax),
        clientId,
        text: z.string().min(1).max(LIMITS.textMax),
        code: z.string().min(1).max(64).optional(),
        params: z.record(z.string(), z.string().max(500)).optional(),
      }),
    )
    .mutation(({ ctx, input }) => ctx.services.messages.sendSystem(input.conversationId, input)),
  /** Live support: `server.support.setPriority` (e.g. for paying sellers), `server.support.setOperator`. */
  support: supportServerRouter,
  /** Notifications: `server.notify.setContact` (email, phone, locale), `server.notify.outbox`. */
  notify: notifyServerRouter,
  /** Marketplace safety: `server.safety.reports`, `.resolve`, `.suspend`, `.lift`, `.audit`. */
  safety: safetyServerRouter,
});
