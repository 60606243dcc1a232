import { z } from 'zod';
import path from 'node:path';
import { parsePolicies, type LimitAction, type Policy } from '../abuse/rate-limit.domain.ts';

/**
 * The only place that reads process.env. Parsed once at boot, validated, frozen.
 * Every key is documented in .env.example.
 */
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must start with ${protocols.join(' or ')}`,
    });
const optionalString = z.string().optional().transform((v) => (v === '' ? undefined : v));
/** Whole days, or unset/empty = keep forever. */
const optionalDays = z
  .union([z.literal(''), z.coerce.number().int().min(1).max(36_500)])
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('./.sohbet-data'),
  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits, : _ . - (1–64 chars)').default('sohbet:'),
  AUTH_JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters' }),
  AUTH_JWKS_URL: optionalUrl(['https://', 'http://']),
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  SOHBET_API_KEY: optionalString.refine((v) => v === undefined || v.length >= 24, { message: 'must be at least 24 characters' }),
  DEV_LOGIN: bool.default(false),
  FRONTEND_URL: optionalString,
  WEB_DIST_DIR: optionalString,
  WEBHOOK_URL: optionalUrl(['https://', 'http://']),
  WEBHOOK_SECRET: optionalString,
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  MESSAGE_EDIT_WINDOW_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(15 * 60),
  WS_MAX_QUEUE: z.coerce.number().int().min(16).max(100_000).default(1024),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  SUPPORT_OFFER_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  SUPPORT_OPERATOR_GRACE_SECONDS: z.coerce.number().int().min(0).max(24 * 3600).default(120),
  SUPPORT_REOPEN_WINDOW_SECONDS: z.coerce.number().int().min(0).max(30 * 86_400).default(86_400),
  SUPPORT_AGING_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  SUPPORT_DEFAULT_MAX_CHATS: z.coerce.number().int().min(1).max(100).default(3),
  SUPPORT_SWEEP_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  RATE_LIMITS: optionalString,
  // ---- media ----
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_REGION: z.string().default('us-east-1'),
  AWS_BUCKET_NAME: optionalString,
  S3_ENDPOINT: optionalUrl(['https://', 'http://']),
  S3_FORCE_PATH_STYLE: bool.default(false),
  MEDIA_URL_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters' }),
  MEDIA_MAX_IMAGE_MB: z.coerce.number().min(0.01).max(1024).default(10),
  MEDIA_MAX_FILE_MB: z.coerce.number().min(0.01).max(5120).default(25),
  MEDIA_MAX_VOICE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  MEDIA_UPLOAD_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(3600),
  MEDIA_SWEEP_MS: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  MEDIA_RECONCILE_MS: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(3_600_000),
  CLAMAV_SOCKET: optionalString,
  // ---- end media ----
  SUPPORT_SLA_WAIT_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(300),
  SUPPORT_SLA_FIRST_RESPONSE_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(120),
  SUPPORT_INACTIVITY_CLOSE_SECONDS: z.coerce.number().int().min(0).max(30 * 86_400).default(86_400),
  // ---- calls ----
  CALL_RING_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(600).default(45),
  CALL_CONNECT_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(600).default(30),
  CALL_RECONNECT_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
  CALL_MAX_DURATION_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(4 * 3600),
  CALL_SWEEP_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  TURN_URLS: optionalString,
  TURN_SECRET: optionalString,
  TURN_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 86_400).default(86_400),
  STUN_URLS: optionalString,
  CALL_RECORDER_HOST: optionalString.refine((v) => v === undefined || /^\d{1,3}(\.\d{1,3}){3}$/.test(v), { message: 'an IPv4 address, e.g. 10.0.0.5' }),
  LIVEKIT_URL: optionalUrl(['wss://', 'ws://', 'https://', 'http://']),
  LIVEKIT_API_KEY: optionalString,
  LIVEKIT_API_SECRET: optionalString,
  LIVEKIT_EMPTY_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(3600).default(60),
  CALL_RECORDING_S3_BUCKET: optionalString,
  CALL_RECORDING_S3_REGION: optionalString,
  CALL_RECORDING_S3_ACCESS_KEY: optionalString,
  CALL_RECORDING_S3_SECRET: optionalString,
  CALL_RECORDING_S3_ENDPOINT: optionalUrl(['https://', 'http://']),
  // ---- notify ----
  NOTIFY_MESSAGE_DELAY_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  NOTIFY_ACTIVE_TTL_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  NOTIFY_WORKER_MS: z.coerce.number().int().min(10).max(3_600_000).default(500),
  NOTIFY_BATCH: z.coerce.number().int().min(1).max(1000).default(200),
  NOTIFY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  NOTIFY_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  NOTIFY_RECEIPT_DELAY_SECONDS: z.coerce.number().int().min(0).max(86_400).default(900),
  EXPO_ACCESS_TOKEN: optionalString,
  EXPO_PUSH_URL: optionalUrl(['https://', 'http://']),
  FCM_SERVICE_ACCOUNT: optionalString,
  FCM_PROJECT_ID: optionalString,
  FCM_URL: optionalUrl(['https://', 'http://']),
  APNS_KEY_ID: optionalString,
  APNS_TEAM_ID: optionalString,
  APNS_KEY: optionalString,
  APNS_BUNDLE_ID: optionalString,
  APNS_HOST: optionalUrl(['https://']),
  VAPID_PUBLIC_KEY: optionalString,
  VAPID_PRIVATE_KEY: optionalString,
  VAPID_SUBJECT: optionalString,
  RESEND_API_KEY: optionalString,
  RESEND_URL: optionalUrl(['https://', 'http://']),
  SMTP_URL: optionalUrl(['smtp://', 'smtps://']),
  EMAIL_FROM: optionalString,
  EMAIL_FROM_NAME: optionalString,
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_FROM: optionalString,
  TWILIO_PHONE_NUMBER: optionalString,
  TWILIO_URL: optionalUrl(['https://', 'http://']),
  // ---- safety ----
  PRESEND_HOOK_URL: optionalUrl(['https://', 'http://']),
  PRESEND_HOOK_SECRET: optionalString,
  PRESEND_HOOK_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1500),
  PRESEND_HOOK_FAILURE: z.enum(['open', 'closed']).default('open'),
  // ---- privacy ----
  RETENTION_MESSAGE_DAYS: optionalDays,
  RETENTION_ATTACHMENT_DAYS: optionalDays,
  RETENTION_CALL_RECORDING_DAYS: optionalDays,
  RETENTION_SWEEP_MS: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(3_600_000),
  TWILIO_STATUS_CALLBACK_URL: optionalUrl(['https://', 'http://']),
  RESEND_WEBHOOK_SECRET: optionalString,
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  http: { host: string; port: number; corsOrigins: string[] | true; webDistDir: string | null };
  log: { level: Env['LOG_LEVEL'] };
  dataDir: string;
  db: { kind: 'pglite'; dir: string } | { kind: 'postgres'; url: string; poolSize: number; preparedStatements: boolean };
  redis: { url: string; prefix: string } | null;
  auth: {
    jwtSecret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    apiKey: string | undefined;
    devLogin: boolean;
  };
  webhooks: { url: string; secret: string } | null;
  chat: { editWindowMs: number; eventRetentionDays: number };
  realtime: { maxQueue: number };
  /** Abuse limits per action (null = off); shared across instances through Redis when REDIS_URL is set. */
  limits: Record<LimitAction, Policy | null>;
  support: { offerTimeoutMs: number; operatorGraceMs: number; reopenWindowMs: number; agingMs: number; defaultMaxChats: number; sweepMs: number;
    /** 0 turns a timer off. */
    slaWaitMs: number; slaFirstResponseMs: number; inactivityCloseMs: number };
  calls: {
    ringMs: number;
    connectMs: number;
    graceMs: number;
    maxDurationMs: number;
    sweepMs: number;
    /** STUN servers and coturn (shared-secret scheme) for p2p media. */
    ice: { stunUrls: string[]; turn: { urls: string[]; secret: string; ttlSec: number } | null };
    /** Set when LIVEKIT_URL/_API_KEY/_API_SECRET are: calls use LiveKit rooms instead of p2p. */
    livekit: { url: string; apiUrl: string; apiKey: string; apiSecret: string; emptyTimeoutSec: number } | null;
    /** IPv4 address the server-side recording peer offers ICE candidates on (all interfaces when unset). */
    recorderHost: string | null;
    /** LiveKit Egress uploads recordings here. */
    recordingS3: { bucket: string; region: string; accessKey: string; secret: string; endpoint: string | undefined } | null;
  };
  shutdownGraceMs: number;
  media: MediaConfig;
  notify: NotifyConfig;
  safety: SafetyConfig;
  privacy: PrivacyConfig;
}

/** Marketplace safety: the synchronous pre-send hook (null = every message is allowed). */
export interface SafetyConfig {
  presend: { url: string; secret: string; timeoutMs: number; failure: 'open' | 'closed' } | null;
}

/** Retention per deployment (null = keep forever), applied by a sweep that runs once across instances. */
export interface PrivacyConfig {
  retention: { messageDays: number | null; attachmentDays: number | null; callRecordingDays: number | null };
  sweepMs: number;
}

export interface MediaConfig {
  storage: { kind: 'local'; dir: string } | { kind: 's3'; accessKeyId: string; secretAccessKey: string; region: string; bucket: string; endpoint: string | undefined; forcePathStyle: boolean };
  /** Signs the local default's URLs; unset: derived from the JWT secret or the data dir's secret. */
  urlSecret: string | undefined;
  limits: { imageBytes: number; fileBytes: number; voiceBytes: number; voiceSeconds: number };
  /** How long an upload may stay unfinalized before the sweep removes it. */
  uploadTtlSec: number;
  sweepMs: number;
  /** How often files no message shows any more (and objects no row claims) are looked for and removed. */
  reconcileMs: number;
  /** clamd: a unix socket path or host:port; null = no malware scan. */
  clamav: string | null;
}

/** Notifications: rules, worker and one entry per provider (null = not configured, not used). */
export interface NotifyConfig {
  messageDelayMs: number;
  activeTtlMs: number;
  workerMs: number;
  batch: number;
  concurrency: number;
  maxAttempts: number;
  leaseMs: number;
  timeoutMs: number;
  receiptDelayMs: number;
  frontendUrl: string | null;
  expo: { accessToken: string | undefined; url: string } | null;
  /** The service account as JSON text or a file path (read at startup by the FCM provider). */
  fcm: { serviceAccount: string; projectId: string | undefined; url: string } | null;
  apns: { keyId: string; teamId: string; key: string; bundleId: string; host: string } | null;
  webpush: { publicKey: string; privateKey: string; subject: string } | null;
  resend: { apiKey: string; url: string } | null;
  smtp: { url: string } | null;
  emailFrom: string | null;
  /** statusCallbackUrl: the public URL of /webhooks/twilio/status (Twilio signs the URL it calls). */
  twilio: { accountSid: string; authToken: string; from: string; url: string; statusCallbackUrl: string | null } | null;
  /** Svix signing secret (whsec_…) of the Resend webhook endpoint: email.delivered/bounced/complained. */
  resendWebhookSecret: string | null;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const HINTS: Partial<Record<keyof Env, string>> = {
  DATABASE_URL: 'e.g. postgresql://sohbet:secret@localhost:5432/sohbet (leave unset for the embedded PGlite database)',
  REDIS_URL: 'e.g. redis://localhost:6379 (leave unset for a single instance)',
  REDIS_KEY_PREFIX: "e.g. sohbet: (every channel and key starts with it; give each deployment sharing a Redis its own)",
  AUTH_JWT_SECRET: 'the HS256 secret your backend signs user tokens with; generate one with `openssl rand -hex 32`',
  AUTH_JWKS_URL: 'e.g. https://auth.example.com/.well-known/jwks.json',
  SOHBET_API_KEY: 'generate one with `openssl rand -hex 24`',
  PORT: 'a TCP port, 0-65535',
  S3_ENDPOINT: 'e.g. http://minio:9000 (leave unset for AWS S3)',
  MEDIA_URL_SECRET: 'shared by every instance on the local default; generate one with `openssl rand -hex 32`',
};

/**
 * `demo` is `sohbet start --demo` (what `npm start` runs): it turns the demo sign-in on, except in
 * production, where it is ignored so the same start command is safe to deploy.
 */
export function parseConfig(source: Record<string, string | undefined>, opts: { demo?: boolean } = {}): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0]) as keyof Env;
        const hint = HINTS[key];
        return `${key}: ${i.message}${hint ? ` — ${hint}` : ''}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production') {
    if (!e.AUTH_JWT_SECRET && !e.AUTH_JWKS_URL) problems.push(`AUTH_JWT_SECRET or AUTH_JWKS_URL: one is required in production — ${HINTS.AUTH_JWT_SECRET}`);
    if (e.DEV_LOGIN) problems.push('DEV_LOGIN: the demo sign-in can never be enabled when NODE_ENV=production');
  }
  const limits = parsePolicies(e.RATE_LIMITS);
  for (const p of limits.problems) problems.push(`RATE_LIMITS: ${p}`);
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: required when WEBHOOK_URL is set (deliveries are HMAC-signed with it)');
  const s3Keys = [e.AWS_ACCESS_KEY_ID, e.AWS_SECRET_ACCESS_KEY, e.AWS_BUCKET_NAME];
  if (s3Keys.some(Boolean) && !s3Keys.every(Boolean)) problems.push('AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_BUCKET_NAME: set all three for S3/MinIO storage, or none for local disk');
  if (e.TURN_URLS && !e.TURN_SECRET) problems.push("TURN_SECRET: required when TURN_URLS is set (coturn's static-auth-secret, used to mint time-limited credentials)");
  const lk = [e.LIVEKIT_URL, e.LIVEKIT_API_KEY, e.LIVEKIT_API_SECRET];
  if (lk.some(Boolean) && !lk.every(Boolean)) problems.push('LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET: set all three (or none, for peer-to-peer calls)');
  const s3 = [e.CALL_RECORDING_S3_BUCKET, e.CALL_RECORDING_S3_REGION, e.CALL_RECORDING_S3_ACCESS_KEY, e.CALL_RECORDING_S3_SECRET];
  if (s3.some(Boolean) && !s3.every(Boolean)) problems.push('CALL_RECORDING_S3_BUCKET, _REGION, _ACCESS_KEY, _SECRET: set all four (or none)');
  const turnUrls = (e.TURN_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of turnUrls) if (!/^turns?:/.test(u)) problems.push(`TURN_URLS: ${u} must start with turn: or turns:`);
  problems.push(...notifyProblems(e));
  if (e.PRESEND_HOOK_URL && !e.PRESEND_HOOK_SECRET && !e.WEBHOOK_SECRET) problems.push('PRESEND_HOOK_SECRET: required when PRESEND_HOOK_URL is set (requests are HMAC-signed like webhooks; WEBHOOK_SECRET is used when unset)');
  if (problems.length) throw new ConfigError(problems);

  const dataDir = path.resolve(e.DATA_DIR);
  const config: Config = {
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      // Without FRONTEND_URL: any origin in development, none but the server's own in production.
      corsOrigins: e.FRONTEND_URL ? e.FRONTEND_URL.split(',').map((s) => s.trim()) : e.NODE_ENV === 'production' ? [] : true,
      webDistDir: e.WEB_DIST_DIR ? path.resolve(e.WEB_DIST_DIR) : null,
    },
    log: { level: e.LOG_LEVEL },
    dataDir,
    db: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, preparedStatements: e.DATABASE_PREPARED_STATEMENTS }
      : { kind: 'pglite', dir: path.join(dataDir, 'db') },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, prefix: e.REDIS_KEY_PREFIX } : null,
    auth: {
      jwtSecret: e.AUTH_JWT_SECRET,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_JWT_ISSUER,
      audience: e.AUTH_JWT_AUDIENCE,
      apiKey: e.SOHBET_API_KEY,
      devLogin: e.DEV_LOGIN || (opts.demo === true && e.NODE_ENV !== 'production'),
    },
    webhooks: e.WEBHOOK_URL && e.WEBHOOK_SECRET ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET } : null,
    chat: { editWindowMs: e.MESSAGE_EDIT_WINDOW_SECONDS * 1000, eventRetentionDays: e.EVENT_RETENTION_DAYS },
    realtime: { maxQueue: e.WS_MAX_QUEUE },
    support: {
      offerTimeoutMs: e.SUPPORT_OFFER_TIMEOUT_SECONDS * 1000,
      operatorGraceMs: e.SUPPORT_OPERATOR_GRACE_SECONDS * 1000,
      reopenWindowMs: e.SUPPORT_REOPEN_WINDOW_SECONDS * 1000,
      agingMs: e.SUPPORT_AGING_SECONDS * 1000,
      defaultMaxChats: e.SUPPORT_DEFAULT_MAX_CHATS,
      sweepMs: e.SUPPORT_SWEEP_MS,
      slaWaitMs: e.SUPPORT_SLA_WAIT_SECONDS * 1000,
      slaFirstResponseMs: e.SUPPORT_SLA_FIRST_RESPONSE_SECONDS * 1000,
      inactivityCloseMs: e.SUPPORT_INACTIVITY_CLOSE_SECONDS * 1000,
    },
    limits: limits.policies,
    calls: {
      ringMs: e.CALL_RING_TIMEOUT_SECONDS * 1000,
      connectMs: e.CALL_CONNECT_TIMEOUT_SECONDS * 1000,
      graceMs: e.CALL_RECONNECT_GRACE_SECONDS * 1000,
      maxDurationMs: e.CALL_MAX_DURATION_SECONDS * 1000,
      sweepMs: e.CALL_SWEEP_MS,
      ice: {
        stunUrls: (e.STUN_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean),
        turn: turnUrls.length && e.TURN_SECRET ? { urls: turnUrls, secret: e.TURN_SECRET, ttlSec: e.TURN_TTL_SECONDS } : null,
      },
      recorderHost: e.CALL_RECORDER_HOST ?? null,
      livekit:
        e.LIVEKIT_URL && e.LIVEKIT_API_KEY && e.LIVEKIT_API_SECRET
          ? { url: e.LIVEKIT_URL, apiUrl: e.LIVEKIT_URL.replace(/^ws(s?):\/\//, 'http$1://'), apiKey: e.LIVEKIT_API_KEY, apiSecret: e.LIVEKIT_API_SECRET, emptyTimeoutSec: e.LIVEKIT_EMPTY_TIMEOUT_SECONDS }
          : null,
      recordingS3:
        e.CALL_RECORDING_S3_BUCKET && e.CALL_RECORDING_S3_REGION && e.CALL_RECORDING_S3_ACCESS_KEY && e.CALL_RECORDING_S3_SECRET
          ? { bucket: e.CALL_RECORDING_S3_BUCKET, region: e.CALL_RECORDING_S3_REGION, accessKey: e.CALL_RECORDING_S3_ACCESS_KEY, secret: e.CALL_RECORDING_S3_SECRET, endpoint: e.CALL_RECORDING_S3_ENDPOINT }
          : null,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    media: {
      storage:
        e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY && e.AWS_BUCKET_NAME
          ? { kind: 's3', accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY, region: e.AWS_REGION, bucket: e.AWS_BUCKET_NAME, endpoint: e.S3_ENDPOINT, forcePathStyle: e.S3_FORCE_PATH_STYLE }
          : { kind: 'local', dir: path.join(dataDir, 'media') },
      urlSecret: e.MEDIA_URL_SECRET,
      limits: {
        imageBytes: Math.round(e.MEDIA_MAX_IMAGE_MB * 1024 * 1024),
        fileBytes: Math.round(e.MEDIA_MAX_FILE_MB * 1024 * 1024),
        // Opus voice is ~16-32 kbit/s; AAC from phones up to ~128 kbit/s: 16 KB/s covers both with room.
        voiceBytes: e.MEDIA_MAX_VOICE_SECONDS * 16 * 1024 + 256 * 1024,
        voiceSeconds: e.MEDIA_MAX_VOICE_SECONDS,
      },
      uploadTtlSec: e.MEDIA_UPLOAD_TTL_SECONDS,
      sweepMs: e.MEDIA_SWEEP_MS,
      reconcileMs: e.MEDIA_RECONCILE_MS,
      clamav: e.CLAMAV_SOCKET ?? null,
    },
    notify: notifyConfig(e),
    safety: {
      presend: e.PRESEND_HOOK_URL
        ? { url: e.PRESEND_HOOK_URL, secret: (e.PRESEND_HOOK_SECRET ?? e.WEBHOOK_SECRET)!, timeoutMs: e.PRESEND_HOOK_TIMEOUT_MS, failure: e.PRESEND_HOOK_FAILURE }
        : null,
    },
    privacy: {
      retention: { messageDays: e.RETENTION_MESSAGE_DAYS ?? null, attachmentDays: e.RETENTION_ATTACHMENT_DAYS ?? null, callRecordingDays: e.RETENTION_CALL_RECORDING_DAYS ?? null },
      sweepMs: e.RETENTION_SWEEP_MS,
    },
  };
  return deepFreeze(config);
}

/** Half-configured providers are errors: a provider is either fully set up or not set at all. */
function notifyProblems(e: Env): string[] {
  const groups: Array<[string, Array<keyof Env>]> = [
    ['APNs', ['APNS_KEY_ID', 'APNS_TEAM_ID', 'APNS_KEY', 'APNS_BUNDLE_ID']],
    ['Web Push', ['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT']],
    ['Twilio', ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']],
  ];
  const out: string[] = [];
  for (const [name, keys] of groups) {
    const set = keys.filter((k) => e[k] !== undefined);
    if (set.length && set.length < keys.length) out.push(`${keys.filter((k) => e[k] === undefined).join(', ')}: required for ${name} when ${set.join(', ')} is set`);
  }
  if (e.TWILIO_ACCOUNT_SID && !(e.TWILIO_FROM ?? e.TWILIO_PHONE_NUMBER)) out.push('TWILIO_FROM (or TWILIO_PHONE_NUMBER): the sender number is required for Twilio');
  if ((e.RESEND_API_KEY || e.SMTP_URL) && !e.EMAIL_FROM) out.push('EMAIL_FROM: required to send email (RESEND_API_KEY or SMTP_URL is set)');
  if (e.FCM_PROJECT_ID && !e.FCM_SERVICE_ACCOUNT) out.push('FCM_SERVICE_ACCOUNT: the service account JSON (or a path to it) is required for FCM HTTP v1');
  return out;
}

function notifyConfig(e: Env): NotifyConfig {
  const from = e.EMAIL_FROM ? (e.EMAIL_FROM_NAME && !e.EMAIL_FROM.includes('<') ? `${e.EMAIL_FROM_NAME} <${e.EMAIL_FROM}>` : e.EMAIL_FROM) : null;
  const frontend = e.FRONTEND_URL?.split(',')[0]?.trim();
  return {
    messageDelayMs: Math.round(e.NOTIFY_MESSAGE_DELAY_SECONDS * 1000),
    activeTtlMs: e.NOTIFY_ACTIVE_TTL_SECONDS * 1000,
    workerMs: e.NOTIFY_WORKER_MS,
    batch: e.NOTIFY_BATCH,
    concurrency: e.NOTIFY_CONCURRENCY,
    maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
    leaseMs: e.NOTIFY_LEASE_SECONDS * 1000,
    timeoutMs: e.NOTIFY_TIMEOUT_MS,
    receiptDelayMs: e.NOTIFY_RECEIPT_DELAY_SECONDS * 1000,
    frontendUrl: frontend || null,
    // Expo accepts pushes without an access token (unless enhanced security is on), so either key enables it.
    expo: e.EXPO_ACCESS_TOKEN || e.EXPO_PUSH_URL ? { accessToken: e.EXPO_ACCESS_TOKEN, url: e.EXPO_PUSH_URL ?? 'https://exp.host' } : null,
    fcm: e.FCM_SERVICE_ACCOUNT ? { serviceAccount: e.FCM_SERVICE_ACCOUNT, projectId: e.FCM_PROJECT_ID, url: e.FCM_URL ?? 'https://fcm.googleapis.com' } : null,
    apns:
      e.APNS_KEY_ID && e.APNS_TEAM_ID && e.APNS_KEY && e.APNS_BUNDLE_ID
        ? { keyId: e.APNS_KEY_ID, teamId: e.APNS_TEAM_ID, key: e.APNS_KEY.replaceAll('\\n', '\n'), bundleId: e.APNS_BUNDLE_ID, host: e.APNS_HOST ?? 'https://api.push.apple.com' }
        : null,
    webpush: e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY && e.VAPID_SUBJECT ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT } : null,
    resend: e.RESEND_API_KEY ? { apiKey: e.RESEND_API_KEY, url: e.RESEND_URL ?? 'https://api.resend.com' } : null,
    smtp: e.SMTP_URL ? { url: e.SMTP_URL } : null,
    emailFrom: from,
    twilio:
      e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN
        ? { accountSid: e.TWILIO_ACCOUNT_SID, authToken: e.TWILIO_AUTH_TOKEN, from: (e.TWILIO_FROM ?? e.TWILIO_PHONE_NUMBER)!, url: e.TWILIO_URL ?? 'https://api.twilio.com', statusCallbackUrl: e.TWILIO_STATUS_CALLBACK_URL ?? null }
        : null,
    resendWebhookSecret: e.RESEND_WEBHOOK_SECRET ?? null,
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Reads process.env; the only such read in the codebase. */
export function loadConfig(opts: { demo?: boolean } = {}): Config {
  return parseConfig(process.env, opts);
}

/** The raw environment, for `sohbet doctor` (which reports config problems instead of exiting on them). */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
