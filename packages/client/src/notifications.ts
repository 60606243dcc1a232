import type { DeviceDTO, OutboxItemDTO, OutboxStatsDTO, PreferencesDTO, PreferencesInput, RegisterDeviceInput } from '@sohbet/protocol';
import type { SohbetTRPC } from './connection.ts';

/**
 * Push, email and SMS notifications. Every method works over the socket when connected and over
 * plain HTTP otherwise (e.g. inside a push handler while the app is in the background).
 * Failures reject with a SohbetError (`notify.invalid_token`, `notify.device_not_found`, …).
 */
export interface NotificationsApi {
  /**
   * Registers this device: an Expo push token, an FCM registration token, an APNs PushKit (VoIP)
   * token for incoming calls on iOS, or a Web Push subscription (`subscription.toJSON()`).
   * Registering the same token again is harmless; a token moving to another account follows it.
   */
  registerDevice(input: RegisterDeviceInput): Promise<DeviceDTO>;
  /** Forget a device (on sign-out). */
  unregisterDevice(deviceId: string): Promise<void>;
  devices(): Promise<DeviceDTO[]>;
  preferences(): Promise<PreferencesDTO>;
  /** Per channel (push, email, sms), per kind (message, call, missed_call, support), quiet hours, locale (az, en), email, phone. */
  setPreferences(input: PreferencesInput): Promise<PreferencesDTO>;
  /**
   * Tells the server which conversation this device shows (null: none), so no push is sent for
   * it. The client refreshes it every 25 s while set; call with null when the screen closes.
   */
  setActive(conversationId: string | null): Promise<void>;
  /** The app displayed a notification: pass `data.notificationId` from the push; the trace reaches the device. */
  acknowledgeDisplay(notificationId: string): Promise<void>;
  /** The VAPID public key for `pushManager.subscribe({ applicationServerKey })`, or null when Web Push is off. */
  webPushKey(): Promise<string | null>;
  /** Admins (token role `admin`): the outbox, dead letters and counts by state. */
  admin: {
    outbox(input?: { state?: OutboxItemDTO['state']; userId?: string; limit?: number; beforeId?: number }): Promise<OutboxItemDTO[]>;
    deadLetters(input?: { userId?: string; limit?: number; beforeId?: number }): Promise<OutboxItemDTO[]>;
    stats(): Promise<OutboxStatsDTO>;
  };
}

const ACTIVE_REFRESH_MS = 25_000;

export function createNotificationsApi(call: <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>, deviceId: string): NotificationsApi & { dispose(): void } {
  let active: string | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const push = () => call((t) => t.notify.setActive.mutate({ conversationId: active, deviceId }));
  return {
    registerDevice: (input) => call((t) => t.notify.registerDevice.mutate(input)),
    unregisterDevice: async (id) => void (await call((t) => t.notify.unregisterDevice.mutate({ deviceId: id }))),
    devices: () => call((t) => t.notify.devices.query()),
    preferences: () => call((t) => t.notify.preferences.query()),
    setPreferences: (input) => call((t) => t.notify.setPreferences.mutate(input)),
    async setActive(conversationId) {
      active = conversationId;
      if (timer) clearInterval(timer);
      timer = conversationId ? setInterval(() => void push().catch(() => {}), ACTIVE_REFRESH_MS) : null;
      await push();
    },
    acknowledgeDisplay: async (notificationId) => void (await call((t) => t.notify.ackDisplay.mutate({ notificationId }))),
    webPushKey: async () => (await call((t) => t.notify.webPushKey.query())).publicKey,
    admin: {
      outbox: (input = {}) => call((t) => t.notify.admin.outbox.query({ limit: 100, ...input })),
      deadLetters: (input = {}) => call((t) => t.notify.admin.deadLetters.query({ limit: 100, ...input })),
      stats: () => call((t) => t.notify.admin.stats.query()),
    },
    dispose() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
