import { parseArgs } from 'node:util';
import { AuthService } from './auth/auth.service.ts';
import { embeddedJwtSecret } from './auth/embedded-secret.ts';
import { ConfigError, loadConfig, processEnv } from './config/config.ts';
import { createDatabase } from './db/db.ts';
import { main } from './main.ts';

const USAGE = `Usage:
  sohbet start [--demo]         run the server (--demo: demo sign-in and demo users; ignored in production)
  sohbet migrate                apply database migrations and exit
  sohbet token <userId> [--name NAME] [--role ROLE ...] [--ttl SECONDS]
                                print a signed user token for local use
  sohbet doctor                 check the deployment (config, database and migrations, Redis,
                                storage, LiveKit, notification providers, TURN, FRONTEND_URL); exit 1 on a failure`;

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { demo: { type: 'boolean', default: false } } });
      return main({ demo: values.demo });
    }
    case 'migrate': {
      const config = loadConfigOrExit();
      const db = await createDatabase(config.db);
      await db.close();
      console.log(`migrations applied (${config.db.kind})`);
      return;
    }
    case 'token': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { name: { type: 'string' }, role: { type: 'string', multiple: true }, ttl: { type: 'string', default: '3600' } },
      });
      const userId = positionals[0];
      if (!userId) return fail('token: a user id is required');
      const config = loadConfigOrExit();
      if (!config.auth.jwtSecret && config.auth.jwksUrl) return fail('token: minting needs AUTH_JWT_SECRET (this server verifies tokens with AUTH_JWKS_URL)');
      const auth = new AuthService({ jwtSecret: config.auth.jwtSecret ?? embeddedJwtSecret(config.dataDir), issuer: config.auth.issuer, audience: config.auth.audience });
      console.log(await auth.mint({ id: userId, name: values.name, roles: values.role ?? [] }, Number(values.ttl)));
      return;
    }
    case 'doctor': {
      const { runDoctor, formatDoctor } = await import('./doctor/doctor.ts');
      const report = await runDoctor(processEnv());
      console.log(formatDoctor(report));
      process.exit(report.ok ? 0 : 1);
    }
    default:
      console.log(USAGE);
      if (command && command !== 'help' && command !== '--help') process.exit(2);
  }
}

function loadConfigOrExit() {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function fail(msg: string): never {
  console.error(msg);
  process.exit(1);
}

await run(process.argv.slice(2));
