import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { createLogger } from './core/logger.ts';
import { DEMO_USERS, seedDemo } from './demo/demo.seed.ts';

/** Parses config, builds the app, listens; drains on SIGTERM/SIGINT. */
export async function main(opts: { demo?: boolean } = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const app = await buildApp(config, { log });
  if (config.auth.devLogin) {
    await seedDemo(app.services);
    log.warn({ users: DEMO_USERS.map((u) => u.id) }, 'demo sign-in is ON: anyone can sign in as any user. Never enable it on a real server.');
  }
  const address = await app.http.listen({ host: config.http.host, port: config.http.port });
  log.info(
    { address, database: config.db.kind, bus: config.redis ? 'redis' : 'in-process', auth: config.auth.jwksUrl ? 'jwks' : 'hs256', devLogin: config.auth.devLogin },
    `Sohbet listening on ${address}`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining sockets');
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5000);
    force.unref();
    await app.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
