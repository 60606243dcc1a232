/** In-process tRPC callers for API tests: the same procedures, validation and errors as HTTP. */
import { isErrorCode } from '@sohbet/protocol';
import { makeContext } from '../src/core/context.ts';
import { createCallerFactory } from '../src/core/trpc.ts';
import { appRouter } from '../src/router.ts';
import type { Services } from '../src/services.ts';

const factory = createCallerFactory(appRouter);

export async function callerFor(services: Services, userId: string, opts: { name?: string; roles?: string[] } = {}) {
  await services.conversations.upsertUser({ id: userId, name: opts.name ?? userId, avatarUrl: null, roles: opts.roles ?? [] });
  const token = await services.auth.mint({ id: userId, name: opts.name, roles: opts.roles });
  return factory(makeContext(services, { bearer: token, apiKey: null }));
}

export function anonymousCaller(services: Services, creds: { bearer?: string; apiKey?: string } = {}) {
  return factory(makeContext(services, { bearer: creds.bearer ?? null, apiKey: creds.apiKey ?? null }));
}

/** The stable Sohbet error code of a rejected call. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    // createCaller throws TRPCError whose cause is the AppError (or a ZodError for bad input).
    if (e.cause && isErrorCode((e.cause as { code?: unknown }).code)) return e.cause.code!;
    if ((e as { name?: string }).name === 'TRPCError' && (e.cause as { name?: string })?.name === 'ZodError') return 'input.invalid';
    if (e.code === 'BAD_REQUEST') return 'input.invalid';
    return `unexpected:${e.code ?? String(err)}`;
  }
  return 'no error';
}
