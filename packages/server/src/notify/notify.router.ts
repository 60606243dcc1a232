import { ackDisplayInput, contactInput, deviceRef, outboxListInput, preferencesInput, registerDeviceInput, setActiveInput } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { router, serverProcedure, userProcedure } from '../core/trpc.ts';

/** Admins see the whole pipeline (token role `admin`). */
const adminProcedure = userProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user.roles.includes('admin')) throw new AppError('auth.forbidden', 'this needs the admin role');
  return next();
});

/** Notifications for the signed-in user: devices, preferences, the open conversation, display acks. */
export const notifyRouter = router({
  registerDevice: userProcedure.input(registerDeviceInput).mutation(({ ctx, input }) => ctx.services.notify.registerDevice(ctx.user.id, input)),
  unregisterDevice: userProcedure.input(deviceRef).mutation(async ({ ctx, input }) => {
    await ctx.services.notify.unregisterDevice(ctx.user.id, input.deviceId);
    return { ok: true };
  }),
  devices: userProcedure.query(({ ctx }) => ctx.services.notify.devices(ctx.user.id)),
  preferences: userProcedure.query(({ ctx }) => ctx.services.notify.preferences(ctx.user.id)),
  setPreferences: userProcedure.input(preferencesInput).mutation(({ ctx, input }) => ctx.services.notify.setPreferences(ctx.user.id, input)),
  /** Which conversation this device shows now (null: none). Refresh at least every NOTIFY_ACTIVE_TTL_SECONDS. */
  setActive: userProcedure.input(setActiveInput).mutation(async ({ ctx, input }) => {
    await ctx.services.notify.setActive(ctx.user.id, input.deviceId ?? ctx.connection?.id ?? 'http', input.conversationId);
    return { ok: true };
  }),
  ackDisplay: userProcedure.input(ackDisplayInput).mutation(({ ctx, input }) => ctx.services.notify.ackDisplay(ctx.user.id, Number(input.notificationId))),
  webPushKey: userProcedure.query(({ ctx }) => ctx.services.notify.webPushKey()),

  admin: router({
    outbox: adminProcedure.input(outboxListInput).query(({ ctx, input }) => ctx.services.notify.outbox(input)),
    deadLetters: adminProcedure.input(outboxListInput.omit({ state: true })).query(({ ctx, input }) => ctx.services.notify.outbox({ ...input, state: 'dead' })),
    stats: adminProcedure.query(({ ctx }) => ctx.services.notify.stats()),
  }),
});

/** Server API (x-api-key): the host backend supplies contact points and locale it already knows. */
export const notifyServerRouter = router({
  setContact: serverProcedure.input(contactInput).mutation(({ ctx, input: { userId, ...rest } }) => ctx.services.notify.setPreferences(userId, rest)),
  outbox: serverProcedure.input(outboxListInput).query(({ ctx, input }) => ctx.services.notify.outbox(input)),
});
