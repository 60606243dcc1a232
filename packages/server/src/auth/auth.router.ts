import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { publicProcedure, router } from '../core/trpc.ts';

/**
 * The demo sign-in of the web app: only when DEV_LOGIN is on (never in production, config
 * refuses it). It mints a short-lived token for any user id, so it must stay off on real servers.
 */
export const authRouter = router({
  config: publicProcedure.query(({ ctx }) => ({ devLogin: ctx.services.config.auth.devLogin && ctx.services.config.env !== 'production' })),
  devLogin: publicProcedure
    .input(z.object({ userId: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/), name: z.string().trim().min(1).max(100).optional(), roles: z.array(z.enum(['operator', 'admin'])).max(2).optional() }))
    .mutation(async ({ ctx, input }) => {
      const cfg = ctx.services.config;
      if (!cfg.auth.devLogin || cfg.env === 'production') throw new AppError('auth.dev_login_disabled', 'the demo sign-in is disabled on this server');
      await ctx.services.limits.take('login.ip', ctx.ip ?? 'unknown');
      await ctx.services.privacy.assertActive(input.userId);
      // Signing in as an existing user without a name keeps the stored name and roles.
      const [existing] = input.name ? [] : await ctx.services.conversations.users([input.userId]);
      const user = { id: input.userId, name: input.name ?? existing?.name ?? input.userId, avatarUrl: existing?.avatarUrl ?? null, roles: input.roles ?? existing?.roles ?? [] };
      await ctx.services.conversations.upsertUser(user);
      return { token: await ctx.services.auth.mint(user, 12 * 3600), user };
    }),
});
