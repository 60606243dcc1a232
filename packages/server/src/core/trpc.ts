import { initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import type { ErrorCode } from '@sohbet/protocol';
import { AppError, appErrorOf, toTRPCError } from './errors.ts';
import type { Context } from './context.ts';

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const app = appErrorOf(error);
    const zod = error.cause instanceof ZodError ? error.cause : null;
    let code: ErrorCode;
    if (app) code = app.code;
    // Anything else the client caused (bad JSON, unknown procedure, wrong method) is bad input.
    else if (zod || shape.data.httpStatus < 500) code = 'input.invalid';
    else code = 'internal';
    return {
      // Never leak stacks or internal messages to clients.
      message: code === 'internal' ? 'internal error' : zod ? zod.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') : shape.message,
      code: shape.code,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        /** The stable Sohbet error code (see @sohbet/protocol ERROR_STATUS). */
        appCode: code,
        details: app?.details,
        issues: zod?.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
      },
    };
  },
});

export const router = t.router;
export const middleware = t.middleware;
export const createCallerFactory = t.createCallerFactory;

/** Maps AppError to tRPC once, for every procedure. */
const mapErrors = t.middleware(async ({ ctx, path, type, next }) => {
  const res = await next();
  if (type !== 'subscription') ctx.services.metrics.calls.inc({ path, result: res.ok ? 'ok' : (appErrorOf(res.error)?.code ?? 'error') });
  if (!res.ok) {
    const app = appErrorOf(res.error);
    if (app && res.error.code === 'INTERNAL_SERVER_ERROR') throw toTRPCError(app);
  }
  return res;
});

export const publicProcedure = t.procedure.use(mapErrors);

/** A signed-in user (JWT from the host backend). */
export const userProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await ctx.auth.user();
  return next({ ctx: { ...ctx, user } });
});

/** The host backend, authenticated with SOHBET_API_KEY. */
/** Server-API mutations change the host's users' data: each one that succeeds goes to the audit log (safety). */
const auditServerMutations = t.middleware(async ({ ctx, path, type, getRawInput, next }) => {
  const res = await next();
  if (res.ok && type === 'mutation') await ctx.services.safety.auditCall({ kind: 'server' }, path, await getRawInput());
  return res;
});

export const serverProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.auth.apiKey()) throw new AppError('auth.forbidden', 'this procedure needs the server API key (SOHBET_API_KEY)');
  return next();
}).use(auditServerMutations);

/** For mutations where an admin may change someone else's data: each success by an admin or moderator is audited (safety). */
export const auditedForAdmins = t.middleware(async ({ ctx, path, type, getRawInput, next }) => {
  const res = await next();
  const user = (ctx as { user?: { id: string; roles: string[] } }).user;
  if (res.ok && type === 'mutation' && user && (user.roles.includes('admin') || user.roles.includes('moderator'))) {
    await ctx.services.safety.auditCall({ kind: 'user', id: user.id }, path, await getRawInput());
  }
  return res;
});
