import { z } from 'zod';
import { attachmentRef, heardInput, mediaUrlInput, requestUploadInput, userId } from '@sohbet/protocol';
import { router, serverProcedure, userProcedure } from '../core/trpc.ts';

/** Attachments: signed upload, finalize, signed download, voice "heard", and storage usage for admins. */
export const mediaRouter = router({
  requestUpload: userProcedure.input(requestUploadInput).mutation(({ ctx, input }) => ctx.services.media.requestUpload(ctx.user.id, input)),
  finalize: userProcedure.input(attachmentRef).mutation(({ ctx, input }) => ctx.services.media.finalize(ctx.user.id, input.attachmentId)),
  cancel: userProcedure.input(attachmentRef).mutation(({ ctx, input }) => ctx.services.media.cancel(ctx.user.id, input.attachmentId)),
  url: userProcedure.input(mediaUrlInput).query(({ ctx, input }) => ctx.services.media.url(ctx.user.id, input)),
  markHeard: userProcedure.input(heardInput).mutation(({ ctx, input }) => ctx.services.media.markHeard(ctx.user.id, input)),
  heard: userProcedure
    .input(z.object({ conversationId: heardInput.shape.conversationId, seqs: z.array(heardInput.shape.seq).min(1).max(200) }))
    .query(({ ctx, input }) => ctx.services.media.heard(ctx.user.id, input)),
  /** Host backend (SOHBET_API_KEY): bytes kept per user, largest first. */
  usage: serverProcedure.input(z.object({ userId: userId.optional() }).default({})).query(({ ctx, input }) => ctx.services.media.usage(input.userId)),
});
