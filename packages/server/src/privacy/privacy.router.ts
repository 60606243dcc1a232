import { z } from 'zod';
import { userId } from '@sohbet/protocol';
import { AppError } from '../core/errors.ts';
import { publicProcedure, router, userProcedure } from '../core/trpc.ts';
import { mayManageAccounts } from './privacy.domain.ts';

/** The host backend (x-api-key) or an `admin` token: export or delete any account. */
const accountAdminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const apiKey = ctx.auth.apiKey();
  const roles = apiKey ? [] : (await ctx.auth.user()).roles;
  if (!mayManageAccounts({ apiKey, roles })) throw new AppError('auth.forbidden', 'this needs the server API key or the admin role');
  return next();
});

/** Privacy: the signed-in user's data export and account deletion; the same for admins and the host backend. */
export const privacyRouter = router({
  /** Everything Sohbet keeps about you, as one JSON document with short-lived file links. */
  export: userProcedure.query(({ ctx }) => ctx.services.privacy.export(ctx.user.id)),
  /** Deletes your account. `confirm: 'DELETE'` guards against accidental calls. */
  delete: userProcedure
    .input(z.object({ confirm: z.literal('DELETE') }))
    .mutation(({ ctx }) => ctx.services.privacy.deleteAccount(ctx.user.id)),
  exportUser: accountAdminProcedure.input(z.object({ userId })).query(({ ctx, input }) => ctx.services.privacy.export(input.userId)),
  deleteUser: accountAdminProcedure.input(z.object({ userId })).mutation(({ ctx, input }) => ctx.services.privacy.deleteAccount(input.userId)),
});
