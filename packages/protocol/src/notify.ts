import { z } from 'zod';
import { conversationId, LIMITS, userId } from './chat.ts';

/** Notifications: push (Expo, FCM, APNs VoIP, Web Push), email and SMS through a durable outbox. */
export const DEVICE_KINDS = ['expo', 'fcm', 'apns_voip', 'webpush', 'apns'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const NOTIFY_LOCALES = ['az', 'en'] as const;
export type NotifyLocale = (typeof NOTIFY_LOCALES)[number];

export const NOTIFY_KINDS = ['message', 'call', 'missed_call', 'support'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export const NOTIFY_CHANNELS = ['push', 'email', 'sms'] as const;
export type NotifyChannel = (typeof NOTIFY_CHANNELS)[number];

export const OUTBOX_STATES = ['queued', 'sending', 'accepted', 'delivered', 'dead', 'skipped'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** Token formats are checked by the server (notify.invalid_token); here only sizes. */
export const registerDeviceInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('expo'), token: z.string().max(4096) }),
  z.object({ kind: z.literal('fcm'), token: z.string().max(4096) }),
  z.object({ kind: z.literal('apns_voip'), token: z.string().max(4096) }),
  /** A regular APNs device token (alerts, badges) of an iOS app that talks to APNs itself. */
  z.object({ kind: z.literal('apns'), token: z.string().max(4096) }),
  z.object({
    kind: z.literal('webpush'),
    subscription: z.object({
      endpoint: z.string().max(4096),
      keys: z.object({ p256dh: z.string().max(512), auth: z.string().max(512) }),
    }),
  }),
]);
export type RegisterDeviceInput = z.infer<typeof registerDeviceInput>;

export const deviceRef = z.object({ deviceId: z.string().min(1).max(LIMITS.idMax) });

const minuteOfDay = z.number().int().min(0).max(24 * 60 - 1);
export const preferencesInput = z.object({
  locale: z.enum(NOTIFY_LOCALES).optional(),
  channels: z.object({ push: z.boolean(), email: z.boolean(), sms: z.boolean() }).partial().optional(),
  kinds: z.object({ message: z.boolean(), call: z.boolean(), missed_call: z.boolean(), support: z.boolean() }).partial().optional(),
  /** Quiet hours as minutes after local midnight; start == end turns them off. */
  quietHours: z.object({ start: minuteOfDay, end: minuteOfDay }).optional(),
  /** IANA time zone for quiet hours, e.g. Asia/Baku. */
  timeZone: z.string().min(1).max(64).optional(),
  email: z.string().email().max(320).nullable().optional(),
  /** E.164, e.g. +994501234567. */
  phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'E.164 phone number, e.g. +994501234567').nullable().optional(),
});
export type PreferencesInput = z.infer<typeof preferencesInput>;

export const setActiveInput = z.object({
  conversationId: conversationId.nullable(),
  /** A stable id for this device (the SDK sends one), so socket and HTTP calls update the same entry; default: the socket. */
  deviceId: z.string().min(1).max(LIMITS.idMax).optional(),
});

/** The app showed a notification: the trace reaches the device. `id` is the `notificationId` in the push data. */
export const ackDisplayInput = z.object({ notificationId: z.string().regex(/^\d{1,18}$/) });

export const contactInput = z.object({
  userId,
  email: z.string().email().max(320).nullable().optional(),
  phone: z.string().regex(/^\+[1-9]\d{6,14}$/).nullable().optional(),
  locale: z.enum(NOTIFY_LOCALES).optional(),
});

export const outboxListInput = z.object({
  state: z.enum(OUTBOX_STATES).optional(),
  userId: userId.optional(),
  limit: z.number().int().min(1).max(500).default(100),
  beforeId: z.number().int().positive().optional(),
});

export interface DeviceDTO {
  id: string;
  kind: DeviceKind;
  /** Token (or Web Push endpoint) shortened for display. */
  label: string;
  createdAt: string;
}

export interface PreferencesDTO {
  locale: NotifyLocale;
  channels: Record<NotifyChannel, boolean>;
  kinds: Record<NotifyKind, boolean>;
  quietHours: { start: number; end: number };
  timeZone: string;
  email: string | null;
  phone: string | null;
}

export interface OutboxItemDTO {
  id: number;
  userId: string;
  kind: string;
  channel: string;
  state: OutboxState;
  reason: string | null;
  attempts: number;
  nextAttemptAt: string;
  providerId: string | null;
  createdAt: string;
  acceptedAt: string | null;
  deliveredAt: string | null;
  displayedAt: string | null;
}

export interface OutboxStatsDTO {
  byState: Partial<Record<OutboxState, number>>;
  providers: Array<{ channel: string; enabled: boolean }>;
}
