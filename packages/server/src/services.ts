import { LimitsService } from './abuse/limits.service.ts';
import type { RateLimiter } from './abuse/rate-limiter.ts';
import type { AuthService } from './auth/auth.service.ts';
import { ConversationsService } from './chat/conversations.service.ts';
import { MessagesService } from './chat/messages.service.ts';
import type { Config } from './config/config.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/logger.ts';
import type { Metrics } from './core/metrics.ts';
import type { Database } from './db/db.ts';
import type { Bus } from './realtime/bus.ts';
import { EventLog } from './realtime/event-log.ts';
import type { Presence } from './realtime/presence.ts';
import { StreamService } from './realtime/stream.ts';
import { SupportService } from './support/support.service.ts';
import { ClamAv } from './media/clamav.ts';
import { MediaService } from './media/media.service.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { SupportDeskService } from './support/support-desk.service.ts';
import { createSupportMetrics } from './support/support.metrics.ts';
import { CallsService } from './calls/calls.service.ts';
import { createCallMetrics } from './calls/calls.metrics.ts';
import { P2pProvider } from './calls/calls.providers.ts';
import { LiveKitProvider } from './calls/calls.livekit.ts';
import { CallRecorder } from './calls/calls.recorder.ts';
import { createCallRecordings } from './calls/calls.recordings.wiring.ts';
import path from 'node:path';
import { WebhookOutbox } from './webhooks/webhooks.service.ts';
import { createNotify } from './notify/notify.wiring.ts';
import type { NotifyService } from './notify/notify.service.ts';
import type { NotifyWorker } from './notify/notify.worker.ts';
import { createSafety } from './safety/safety.wiring.ts';
import type { SafetyService } from './safety/safety.service.ts';
import { PrivacyService } from './privacy/privacy.service.ts';
import { RetentionSweep } from './privacy/privacy.retention.ts';

/** Everything the procedures use, built once from explicit dependencies. */
export interface Services {
  config: Config;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  database: Database;
  bus: Bus;
  presence: Presence;
  auth: AuthService;
  events: EventLog;
  stream: StreamService;
  conversations: ConversationsService;
  messages: MessagesService;
  support: SupportService;
  supportDesk: SupportDeskService;
  calls: CallsService;
  webhooks: WebhookOutbox | null;
  limits: LimitsService;
  /** Object storage (local disk or S3/MinIO): attachments, thumbnails, call recordings. */
  storage: ObjectStorage;
  media: MediaService;
  notify: NotifyService;
  notifyWorker: NotifyWorker;
  /** Reports, the moderators' review queue, suspensions, the audit log, the pre-send hook. */
  safety: SafetyService;
  /** Data export, account deletion, token refusal for deleted accounts. */
  privacy: PrivacyService;
  retention: RetentionSweep;
}

export interface CoreDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  database: Database;
  bus: Bus;
  presence: Presence;
  auth: AuthService;
  metrics: Metrics;
  limiter: RateLimiter;
  fetch?: typeof fetch;
  storage: ObjectStorage;
  /** ffmpeg on PATH (voice duration and waveform from decoded audio). */
  ffmpeg: Promise<boolean>;
  /** Notifications: an extra CA for APNs (tests). */
  notify?: { apnsCa?: string };
}

export function createServices(d: CoreDeps): Services {
  const events = new EventLog(d.database, d.bus);
  const webhooks = d.config.webhooks
    ? new WebhookOutbox({ database: d.database, clock: d.clock, log: d.log, url: d.config.webhooks.url, secret: d.config.webhooks.secret, fetch: d.fetch })
    : null;
  const limits = new LimitsService({ limiter: d.limiter, clock: d.clock, log: d.log, policies: d.config.limits });
  const chatDeps = { database: d.database, events, clock: d.clock, presence: d.presence, webhooks, limits, editWindowMs: d.config.chat.editWindowMs };
  const conversations = new ConversationsService(chatDeps);
  const messages = new MessagesService(chatDeps, conversations);
  const supportDeps = { database: d.database, events, clock: d.clock, log: d.log, config: d.config.support, conversations, messages, limits, metrics: createSupportMetrics(d.metrics.registry, d.database.db) };
  const support = new SupportService(supportDeps);
  const supportDesk = new SupportDeskService(supportDeps, support);
  messages.onSent((m) => void support.onMessage(m).catch((err) => d.log.warn({ err: (err as Error).message }, 'support message hook failed')));
  // ---- media ----
  const clamav = d.config.media.clamav ? new ClamAv(d.config.media.clamav) : null;
  const media = new MediaService({ database: d.database, events, clock: d.clock, log: d.log, storage: d.storage, config: d.config.media, conversations, clamav, ffmpeg: d.ffmpeg, limits });
  messages.useAttachments(media);
  // ---- end media ----
  const recorder = d.config.calls.livekit ? null : new CallRecorder({ workDir: path.join(d.config.dataDir, 'recorder'), host: d.config.calls.recorderHost, log: d.log });
  const calls = new CallsService({
    recorder, recordings: createCallRecordings({ ...d, events, recorder }), limits,
    database: d.database, events, clock: d.clock, log: d.log, config: d.config.calls, conversations,
    provider: d.config.calls.livekit ? new LiveKitProvider(d.config.calls.livekit, d.config.calls.recordingS3) : new P2pProvider(d.config.calls.ice), metrics: createCallMetrics(d.metrics.registry),
  });
  const { notify, notifyWorker } = createNotify({ ...d, events });
  const safety = createSafety({ ...d, events, webhooks, conversations, messages });
  const privacy = new PrivacyService({ database: d.database, events, bus: d.bus, clock: d.clock, log: d.log, storage: d.storage, media, webhooks });
  const retention = new RetentionSweep({ database: d.database, clock: d.clock, log: d.log, config: d.config.privacy, media, privacy });
  return {
    ...d,
    media,
    calls,
    notify,
    notifyWorker,
    privacy,
    retention,
    events,
    stream: new StreamService({ database: d.database, bus: d.bus, events, maxQueue: d.config.realtime.maxQueue }),
    conversations,
    messages,
    support,
    supportDesk,
    webhooks,
    limits,
    safety,
  };
}
