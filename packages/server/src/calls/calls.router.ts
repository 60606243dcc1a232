import { z } from 'zod';
import { callDeviceRef, callHistoryInput, callQualityInput, callRef, callSignalInput, callStartInput } from '@sohbet/protocol';
import { router, userProcedure } from '../core/trpc.ts';

/** Calls: start, answer, end, media join info, signaling relay, quality reports, history. */
export const callsRouter = router({
  start: userProcedure.input(callStartInput).mutation(({ ctx, input }) => ctx.services.calls.start(ctx.user.id, input)),
  accept: userProcedure.input(callDeviceRef).mutation(({ ctx, input }) => ctx.services.calls.accept(ctx.user.id, input.callId, input.deviceId)),
  decline: userProcedure.input(callRef).mutation(({ ctx, input }) => ctx.services.calls.decline(ctx.user.id, input.callId)),
  hangup: userProcedure.input(callRef).mutation(({ ctx, input }) => ctx.services.calls.hangup(ctx.user.id, input.callId)),
  connected: userProcedure.input(callDeviceRef).mutation(({ ctx, input }) => ctx.services.calls.connected(ctx.user.id, input.callId, input.deviceId)),
  upgrade: userProcedure.input(callRef).mutation(({ ctx, input }) => ctx.services.calls.upgrade(ctx.user.id, input.callId)),
  join: userProcedure.input(callRef).query(({ ctx, input }) => ctx.services.calls.join(ctx.user.id, input.callId)),
  signal: userProcedure.input(callSignalInput).mutation(({ ctx, input }) => ctx.services.calls.signal(ctx.user.id, input)),
  quality: userProcedure.input(callQualityInput).mutation(({ ctx, input }) => ctx.services.calls.quality(ctx.user.id, input)),
  get: userProcedure.input(callRef).query(({ ctx, input }) => ctx.services.calls.get(ctx.user.id, input.callId)),
  recorderOffer: userProcedure
    .input(callDeviceRef.extend({ sdp: z.string().max(128 * 1024) }))
    .mutation(({ ctx, input }) => ctx.services.calls.recorderOffer(ctx.user.id, input)),
  recordings: userProcedure.input(callRef).query(({ ctx, input }) => ctx.services.calls.listRecordings(ctx.user.id, input.callId, ctx.user.roles.includes('admin'))),
  recordingUrl: userProcedure
    .input(callRef.extend({ recordingId: z.string().min(1).max(200) }))
    .query(({ ctx, input }) => ctx.services.calls.recordingUrl(ctx.user.id, input, ctx.user.roles.includes('admin'))),
  history: userProcedure.input(callHistoryInput).query(({ ctx, input }) => ctx.services.calls.history(ctx.user.id, input)),
});
