import { z } from 'zod';
import { router, userProcedure } from '../core/trpc.ts';

const cursor = z.string().max(32).optional();

/** The per-user event stream (WebSocket) and its HTTP catch-up twin. */
export const syncRouter = router({
  /**
   * Every event for the signed-in user. Durable events are `tracked()` with the user's cursor, so
   * a reconnecting client resumes from `lastEventId` and gets each missed event once (G3).
   */
  events: userProcedure.input(z.object({ lastEventId: cursor }).optional()).subscription(async function* ({ ctx, input, signal }) {
    yield* ctx.services.stream.stream(ctx.user.id, input?.lastEventId, signal, ctx.connection?.socket);
  }),
  /** Events after `cursor`, for clients without a socket. Poll with the returned cursor. */
  since: userProcedure
    .input(z.object({ cursor, limit: z.number().int().min(1).max(1000).default(200) }))
    .query(({ ctx, input }) => ctx.services.stream.since(ctx.user.id, input.cursor, input.limit)),
});
