import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '@sohbet/protocol';
import { AuthService } from './auth/auth.service.ts';
import { embeddedJwtSecret } from './auth/embedded-secret.ts';
import type { Config } from './config/config.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { bearerFrom, makeContext } from './core/context.ts';
import { limited } from './abuse/limits.service.ts';
import { AppError, appErrorOf } from './core/errors.ts';
import { newId } from './core/ids.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { createMetrics } from './core/metrics.ts';
import { createDatabase, type Database } from './db/db.ts';
import { InProcessRateLimiter, RedisRateLimiter } from './abuse/rate-limiter.ts';
import { InProcessBus, type Bus } from './realtime/bus.ts';
import { ConnectionRegistry } from './realtime/connections.ts';
import { streamFrameEncoder } from './realtime/frame-encoder.ts';
import { corkPerTick } from './realtime/tick-cork.ts';
import { attachWebSockets, trackLiveness } from './realtime/ws-server.ts';
import { wsConnectionHandler } from './realtime/ws-adapter.ts';
import { InProcessPresence, RedisPresence, type Presence } from './realtime/presence.ts';
import { RedisBus } from './realtime/redis-bus.ts';
import { registerLiveKitWebhook } from './calls/calls.http.ts';
import { registerNotifyWebhooks } from './notify/notify.webhooks.ts';
import { appRouter } from './router.ts';
import { createServices, type Services } from './services.ts';
import { createHmac } from 'node:crypto';
import { ffmpegAvailable } from './media/media.audio.ts';
import { createStorage, UrlSigner } from './storage/create-storage.ts';
import { LocalDiskStorage } from './storage/local-storage.ts';
import { registerSecurityHeaders } from './web-security/security-headers.ts';
import { localStorageRoutes } from './storage/local-storage.routes.ts';
import type { ObjectStorage } from './storage/object-storage.ts';

export type { AppRouter } from './router.ts';

export interface AppOptions {
  log?: Logger;
  clock?: Clock;
  database?: Database;
  bus?: Bus;
  presence?: Presence;
  fetch?: typeof fetch;
  /** Object storage to use instead of the configured one (tests run suites against local disk and S3). */
  storage?: ObjectStorage;
  /** Notifications: an extra CA for APNs (tests run a local HTTP/2 server). */
  notify?: { apnsCa?: string };
}

export interface SohbetApp {
  http: FastifyInstance;
  services: Services;
  connections: ConnectionRegistry;
  /** Stops background work, closes sockets with 1001 (clients reconnect elsewhere) and releases resources. */
  close(): Promise<void>;
}

/** How long /readyz waits for each dependency before reporting it down. */
const READY_TIMEOUT_MS = 2000;

const defaultWebDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../apps/web/dist');

/** Builds the whole server from explicit dependencies; never listens (tests use inject or listen on port 0). */
export async function buildApp(config: Config, opts: AppOptions = {}): Promise<SohbetApp> {
  const log = opts.log ?? createLogger(config.log.level);
  const database = opts.database ?? (await createDatabase(config.db));
  const bus = opts.bus ?? (config.redis ? new RedisBus(config.redis.url, log, config.redis.prefix) : new InProcessBus());
  const presence = opts.presence ?? (config.redis ? new RedisPresence(config.redis.url, config.redis.prefix) : new InProcessPresence());
  const jwtSecret = config.auth.jwtSecret ?? (config.auth.jwksUrl ? undefined : embeddedJwtSecret(config.dataDir));
  const auth = new AuthService({ jwtSecret, jwksUrl: config.auth.jwksUrl, issuer: config.auth.issuer, audience: config.auth.audience });
  const metrics = createMetrics();
  // ---- media ----
  const clock = opts.clock ?? systemClock;
  const mediaSecret = config.media.urlSecret ?? createHmac('sha256', jwtSecret ?? embeddedJwtSecret(config.dataDir)).update('sohbet media urls').digest('hex');
  const urlSigner = new UrlSigner(mediaSecret, () => clock.now());
  const storage = opts.storage ?? createStorage(config.media.storage, urlSigner, () => clock.now(), opts.fetch);
  const ffmpeg = ffmpegAvailable();
  void ffmpeg.then((ok) => log.info({ storage: storage.kind, ffmpeg: ok, clamav: Boolean(config.media.clamav) }, ok ? 'media ready' : 'media: ffmpeg not found on PATH; voice duration comes from the container and no waveform is drawn'));
  // ---- end media ----
  const limiter = config.redis ? new RedisRateLimiter(config.redis.url, config.redis.prefix) : new InProcessRateLimiter();
  const services = createServices({ config, log, clock, database, bus, presence, auth, metrics, limiter, fetch: opts.fetch, storage, ffmpeg, notify: opts.notify });
  const connections = new ConnectionRegistry(services);
  services.privacy.onCloseSessions((userId) => connections.closeUser(userId, CLOSE_CODES.unauthenticated, 'auth.account_deleted', 250));

  const http = Fastify({ loggerInstance: log.child({ component: 'http' }), bodyLimit: 1 << 20, trustProxy: true });
  await http.register(cors, { origin: config.http.corsOrigins, credentials: false });
  registerSecurityHeaders(http as unknown as FastifyInstance, config);

  http.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode }, reply.elapsedTime / 1000);
  });

  const onError = ({ error, path: p }: { error: Error; path?: string }) => {
    if (!appErrorOf(error) && (error as { code?: string }).code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.cause ?? error, path: p }, 'procedure failed');
  };

  await http.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      onError,
      createContext: ({ req }: { req: { ip: string; headers: Record<string, string | string[] | undefined> } }) =>
        makeContext(services, { bearer: bearerFrom(req.headers.authorization as string | undefined), apiKey: (req.headers['x-api-key'] as string | undefined) ?? null, ip: req.ip }),
    },
  });

  // The upgrade request's client address, read by createContext for the per-IP connect limit.
  const socketIps = new WeakMap<WebSocket, string>();
  // tRPC's protocol with one small object per socket (ws-adapter.ts); dead peers are found by
  // ConnectionRegistry's one ping round for all sockets (ws-server.ts).
  const onConnection = wsConnectionHandler({
    router: appRouter,
    onError: ({ error, path: p }) => onError({ error, path: p }),
    encode: streamFrameEncoder.encode,
    createContext: async (socket, connectionParams) => {
      const params = (connectionParams ?? {}) as Record<string, string | undefined>;
      const v = Number(params.v ?? PROTOCOL_VERSION);
      if (!(v >= MIN_PROTOCOL_VERSION && v <= PROTOCOL_VERSION)) {
        socket.close(CLOSE_CODES.unsupportedProtocol, 'protocol.unsupported_version');
        throw new AppError('protocol.unsupported_version', `this server speaks protocol ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`);
      }
      try {
        const ip = socketIps.get(socket) ?? 'unknown';
        const byIp = await services.limits.check('connect.ip', ip);
        const user = await services.auth.verify(params.token);
        await services.privacy.assertActive(user.id);
        const byUser = byIp.allowed ? await services.limits.check('connect', user.id) : byIp;
        if (!byUser.allowed) {
          socket.close(CLOSE_CODES.rateLimited, `rate_limited:${byUser.retryAfterMs}`);
          throw limited('connect', byUser.retryAfterMs);
        }
        await services.conversations.upsertUser(user);
        const id = newId('conn');
        await connections.open(id, user, socket);
        return makeContext(services, { bearer: null, apiKey: null, ip }, { id, userId: user.id, socket }, user);
      } catch (err) {
        const app = appErrorOf(err);
        if (app?.status === 401) socket.close(CLOSE_CODES.unauthenticated, app.code);
        else if (app?.code === 'auth.suspended') socket.close(CLOSE_CODES.forbidden, app.code);
        throw err;
      }
    },
  });
  const wss = attachWebSockets(http.server, {
    path: '/ws',
    maxPayload: 256 * 1024,
    onConnection: (socket, info) => {
      if (connections.draining) return socket.close(CLOSE_CODES.goingAway, 'draining');
      // A socket that never sends its connection params is dropped.
      const timer = setTimeout(() => !connections.has(socket) && socket.close(CLOSE_CODES.unauthenticated, 'auth.missing'), 10_000);
      socket.once('close', () => clearTimeout(timer));
      socketIps.set(socket, info.ip);
      corkPerTick(socket);
      trackLiveness(socket);
      onConnection(socket, info.url);
    },
  });

  if (storage instanceof LocalDiskStorage) await localStorageRoutes(http as unknown as FastifyInstance, storage, urlSigner);
  if (config.calls.livekit) await registerLiveKitWebhook(http as unknown as FastifyInstance, { config: config.calls.livekit, calls: services.calls, database, log });
  await registerNotifyWebhooks(http as unknown as FastifyInstance, { config: config.notify, database, clock, log: log.child({ component: 'notify' }), metrics });

  http.get('/healthz', async () => ({ ok: true }));
  http.get('/readyz', async (_req, reply) => {
    const checks: Record<string, 'ok' | string> = {};
    // A stopped Redis does not fail a command (it waits in the offline queue), so every check has a deadline.
    const within = (p: Promise<void>) => Promise.race([p, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS).unref())]);
    const names = { database: config.db.kind === 'postgres' ? 'postgresql' : 'pglite', bus: config.redis ? 'redis' : 'in-process bus' };
    await Promise.all([
      within(database.ping()).then(() => (checks.database = 'ok'), (e: Error) => (checks.database = `down: ${e.message}`)),
      within(bus.ping()).then(() => (checks.bus = 'ok'), (e: Error) => (checks.bus = `down: ${e.message}`)),
    ]);
    const ok = Object.values(checks).every((c) => c === 'ok') && !connections.draining;
    /** The failed dependencies by name (e.g. ["redis"]), for operators and alerts. */
    const down = (Object.keys(names) as Array<keyof typeof names>).filter((k) => checks[k] !== 'ok').map((k) => names[k]);
    return reply.code(ok ? 200 : 503).send({ ok, draining: connections.draining, checks, down });
  });
  http.get('/metrics', async (_req, reply) => {
    metrics.connections.set(connections.size);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const webDist = config.http.webDistDir ?? defaultWebDist;
  if (existsSync(path.join(webDist, 'index.html'))) {
    await http.register(fastifyStatic, { root: webDist, wildcard: false });
    http.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/trpc') && !req.url.startsWith('/ws')) return reply.sendFile('index.html');
      return reply.code(404).send({ error: 'not found' });
    });
  }

  services.webhooks?.start();
  services.media.start();
  services.notify.start();
  services.privacy.start();
  services.retention.start();
  connections.startMaintenance();
  // A suspended user's sockets are closed on every instance (4403 auth.suspended).
  services.safety.start({ close: (userId) => connections.closeUser(userId, CLOSE_CODES.forbidden, 'auth.suspended'), userIds: () => connections.userIds() });
  // Recordings a crashed predecessor left half-written are finalized, not lost.
  void services.calls.recoverRecordings().catch((err: Error) => log.warn({ err: err.message }, 'recovering call recordings failed'));

  let closed = false;
  return {
    http: http as unknown as FastifyInstance,
    services,
    connections,
    async close() {
      if (closed) return;
      closed = true;
      await connections.drain(config.shutdownGraceMs);
      services.safety.stop();
      // Sockets still in their handshake or before authenticating are not in the registry.
      for (const ws of wss.clients) ws.terminate();
      await services.webhooks?.stop();
      services.media.stop();
      services.retention.stop();
      services.privacy.stop();
      await services.calls.close();
      await services.notify.stop();
      await http.close();
      await Promise.allSettled([bus.close(), presence.close(), limiter.close()]);
      if (!opts.database) await database.close();
    },
  };
}
