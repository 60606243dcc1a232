import { authRouter } from './auth/auth.router.ts';
import { chatRouter, usersRouter } from './chat/chat.router.ts';
import { serverApiRouter } from './chat/server-api.router.ts';
import { router } from './core/trpc.ts';
import { mediaRouter } from './media/media.router.ts';
import { syncRouter } from './realtime/sync.router.ts';
import { supportRouter } from './support/support.router.ts';
import { callsRouter } from './calls/calls.router.ts';
import { notifyRouter } from './notify/notify.router.ts';
import { safetyRouter } from './safety/safety.router.ts';
import { privacyRouter } from './privacy/privacy.router.ts';

export const appRouter = router({
  auth: authRouter,
  chat: chatRouter,
  users: usersRouter,
  sync: syncRouter,
  server: serverApiRouter,
  support: supportRouter,
  media: mediaRouter,
  calls: callsRouter,
  notify: notifyRouter,
  safety: safetyRouter,
  account: privacyRouter,
});

/** The router type the SDK and host apps import (`import type { AppRouter } from '@sohbet/server/router'`). */
export type AppRouter = typeof appRouter;
