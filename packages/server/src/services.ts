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
import { WebhookOutbox } from './webhooks/webhooks.service.ts';

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
  webhooks: WebhookOutbox | null;
  /** Object storage (local disk or S3/MinIO): attachments, thumbnails, call recordings. */
  storage: ObjectStorage;
  media: MediaService;
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
  fetch?: typeof fetch;
  storage: ObjectStorage;
  /** ffmpeg on PATH (voice duration and waveform from decoded audio). */
  ffmpeg: Promise<boolean>;
}

export function createServices(d: CoreDeps): Services {
  const events = new EventLog(d.database, d.bus);
  const webhooks = d.config.webhooks
    ? new WebhookOutbox({ database: d.database, clock: d.clock, log: d.log, url: d.config.webhooks.url, secret: d.config.webhooks.secret, fetch: d.fetch })
    : null;
  const chatDeps = { database: d.database, events, clock: d.clock, presence: d.presence, webhooks, editWindowMs: d.config.chat.editWindowMs };
  const conversations = new ConversationsService(chatDeps);
  const messages = new MessagesService(chatDeps, conversations);
  const support = new SupportService({ database: d.database, events, clock: d.clock, log: d.log, config: d.config.support, conversations, messages });
  messages.onSent((m) => void support.onMessage(m).catch((err) => d.log.warn({ err: (err as Error).message }, 'support message hook failed')));
  // ---- media ----
  const clamav = d.config.media.clamav ? new ClamAv(d.config.media.clamav) : null;
  const media = new MediaService({ database: d.database, events, clock: d.clock, log: d.log, storage: d.storage, config: d.config.media, conversations, clamav, ffmpeg: d.ffmpeg });
  messages.useAttachments(media);
  // ---- end media ----
  return {
    ...d,
    media,
    events,
    stream: new StreamService({ database: d.database, bus: d.bus, events, maxQueue: d.config.realtime.maxQueue }),
    conversations,
    messages,
    support,
    webhooks,
  };
}
