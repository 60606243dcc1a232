import { randomUUID } from 'node:crypto';
import type { DeviceDTO, OutboxItemDTO, OutboxState, OutboxStatsDTO, PreferencesDTO, PreferencesInput, RegisterDeviceInput } from '@sohbet/protocol';
import type { NotifyConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import type { ActiveConversations } from './notify.active.ts';
import { assertTimeZone, validateDevice, type OutboxChannel } from './notify.domain.ts';
import { notifyRepo as repo, type DeviceRow, type OutboxRow } from './notify.repo.ts';
import type { Provider } from './providers/provider.ts';
import type { NotifyWorker } from './notify.worker.ts';

const deviceDTO = (d: DeviceRow): DeviceDTO => ({
  id: d.id,
  kind: d.kind,
  label: d.kind === 'webpush' ? new URL(d.token).host : `${d.token.slice(0, 18)}…`,
  createdAt: d.createdAt.toISOString(),
});

const outboxDTO = (r: OutboxRow): OutboxItemDTO => ({
  id: r.id,
  userId: r.userId,
  kind: r.kind,
  channel: r.channel,
  state: r.state,
  reason: r.reason,
  attempts: r.attempts,
  nextAttemptAt: r.nextAttemptAt.toISOString(),
  providerId: r.providerId,
  createdAt: r.createdAt.toISOString(),
  acceptedAt: r.acceptedAt?.toISOString() ?? null,
  deliveredAt: r.deliveredAt?.toISOString() ?? null,
  displayedAt: r.displayedAt?.toISOString() ?? null,
});

/** Devices, preferences, "which conversation is open", display acknowledgements and the admin view of the pipeline. */
export class NotifyService {
  constructor(
    private readonly d: {
      database: Database;
      clock: Clock;
      log: Logger;
      config: NotifyConfig;
      active: ActiveConversations;
      providers: ReadonlyMap<OutboxChannel, Provider>;
      worker: NotifyWorker;
    },
  ) {}

  private get db() {
    return this.d.database.db;
  }

  /** Registers (or re-registers) a push endpoint; a malformed token is rejected and nothing is stored. */
  async registerDevice(userId: string, input: RegisterDeviceInput): Promise<DeviceDTO> {
    const v = validateDevice(input);
    const row = await repo.upsertDevice(this.db, { id: `dev_${randomUUID().replaceAll('-', '')}`, userId, kind: v.kind, token: v.token, keys: v.keys, now: this.d.clock.now() });
    return deviceDTO(row);
  }

  async unregisterDevice(userId: string, deviceId: string): Promise<void> {
    if (!(await repo.removeDevice(this.db, userId, deviceId))) throw new AppError('notify.device_not_found', 'no such device of yours');
  }

  async devices(userId: string): Promise<DeviceDTO[]> {
    return (await repo.devices(this.db, userId)).map(deviceDTO);
  }

  async preferences(userId: string): Promise<PreferencesDTO> {
    return repo.prefs(this.db, userId);
  }

  async setPreferences(userId: string, input: PreferencesInput): Promise<PreferencesDTO> {
    if (input.timeZone) assertTimeZone(input.timeZone);
    const cur = await repo.prefs(this.db, userId);
    const next: PreferencesDTO = {
      locale: input.locale ?? cur.locale,
      channels: { ...cur.channels, ...input.channels },
      kinds: { ...cur.kinds, ...input.kinds },
      quietHours: input.quietHours ?? cur.quietHours,
      timeZone: input.timeZone ?? cur.timeZone,
      email: input.email === undefined ? cur.email : input.email,
      phone: input.phone === undefined ? cur.phone : input.phone,
    };
    await repo.savePrefs(this.db, userId, next, this.d.clock.now());
    return next;
  }

  async setActive(userId: string, deviceKey: string, conversationId: string | null): Promise<void> {
    await this.d.active.set(userId, deviceKey, conversationId, this.d.clock.now().getTime());
  }

  /** The app displayed the notification (`data.notificationId`): the trace reaches the device. */
  async ackDisplay(userId: string, notificationId: number): Promise<{ ok: boolean }> {
    return { ok: await repo.ackDisplay(this.db, userId, notificationId, this.d.clock.now()) };
  }

  async outbox(q: { state?: OutboxState; userId?: string; limit: number; beforeId?: number }): Promise<OutboxItemDTO[]> {
    return (await repo.list(this.db, q)).map(outboxDTO);
  }

  async stats(): Promise<OutboxStatsDTO> {
    const channels: OutboxChannel[] = ['expo', 'fcm', 'apns_voip', 'apns', 'webpush', 'email', 'sms'];
    return { byState: await repo.countByState(this.db), providers: channels.map((c) => ({ channel: c, enabled: this.d.providers.has(c) })) };
  }

  /** The VAPID public key browsers need to subscribe (null when Web Push is off). */
  webPushKey(): { publicKey: string | null } {
    return { publicKey: this.d.config.webpush?.publicKey ?? null };
  }

  start(): void {
    this.d.worker.start();
  }

  async stop(): Promise<void> {
    await this.d.worker.stop();
    await Promise.allSettled([...this.d.providers.values()].map((p) => p.close?.()));
    await this.d.active.close();
  }
}
