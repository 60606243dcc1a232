import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const num = (name: string) => bigint(name, { mode: 'number' });

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  avatarUrl: text('avatar_url'),
  roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
  /** Last seq handed out in this user's event log (G3). */
  eventSeq: num('event_seq').notNull().default(0),
  /** Events with seq <= this have been pruned; older cursors get a resync signal. */
  eventsPrunedSeq: num('events_pruned_seq').notNull().default(0),
  lastSeenAt: ts('last_seen_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  /** Account deleted (privacy): profile anonymised, tokens for this id refused from then on. */
  deletedAt: ts('deleted_at'),
});

export const conversations = pgTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['direct', 'group'] }).notNull(),
    /** Direct conversations only: one row per user pair and context. */
    directKey: text('direct_key'),
    title: text('title'),
    context: jsonb('context'),
    /** Last message seq (G1): assigned under this row's lock inside the insert transaction. */
    lastSeq: num('last_seq').notNull().default(0),
    lastMessageAt: ts('last_message_at'),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('conversations_direct_key').on(t.directKey)],
);

export const members = pgTable(
  'members',
  {
    conversationId: text('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull().references(() => users.id),
    role: text('role', { enum: ['owner', 'admin', 'member'] }).notNull().default('member'),
    lastReadSeq: num('last_read_seq').notNull().default(0),
    lastDeliveredSeq: num('last_delivered_seq').notNull().default(0),
    muted: boolean('muted').notNull().default(false),
    archived: boolean('archived').notNull().default(false),
    joinedAt: ts('joined_at').notNull().defaultNow(),
    /** Messages with seq <= this were before the member joined and stay hidden from them. */
    joinedSeq: num('joined_seq').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] }), index('members_user').on(t.userId)],
);

export const messages = pgTable(
  'messages',
  {
    conversationId: text('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    seq: num('seq').notNull(),
    id: text('id').notNull(),
    clientId: text('client_id'),
    senderId: text('sender_id'),
    kind: text('kind', { enum: ['text', 'listing', 'system', 'image', 'file', 'voice'] }).notNull(),
    text: text('text'),
    payload: jsonb('payload'),
    replyToSeq: num('reply_to_seq'),
    forwarded: boolean('forwarded').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    editedAt: ts('edited_at'),
    deletedAt: ts('deleted_at'),
    /** The pre-send hook replaced the text the sender typed (safety). */
    redacted: boolean('redacted').notNull().default(false),
    searchVector: tsvector('search_vector').generatedAlwaysAs(sql`to_tsvector('simple', coalesce(text, ''))`),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.seq] }),
    uniqueIndex('messages_client_id').on(t.conversationId, t.clientId),
    uniqueIndex('messages_id').on(t.id),
    index('messages_search').using('gin', t.searchVector),
  ],
);

/** "Delete for me": the message stays for everyone else. */
export const hiddenMessages = pgTable(
  'hidden_messages',
  {
    userId: text('user_id').notNull(),
    conversationId: text('conversation_id').notNull(),
    seq: num('seq').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.conversationId, t.seq] })],
);

export const reactions = pgTable(
  'reactions',
  {
    conversationId: text('conversation_id').notNull(),
    seq: num('seq').notNull(),
    userId: text('user_id').notNull(),
    emoji: text('emoji').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.seq, t.userId, t.emoji] })],
);

export const blocks = pgTable(
  'blocks',
  {
    blockerId: text('blocker_id').notNull(),
    blockedId: text('blocked_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked').on(t.blockedId)],
);

/**
 * Each user's durable event log (G3). `seq` is gap-free per user: it is taken from
 * users.event_seq under that row's lock in the same transaction that writes the change,
 * so commit order equals seq order and a cursor can never skip an event.
 */
export const userEvents = pgTable(
  'user_events',
  {
    userId: text('user_id').notNull(),
    seq: num('seq').notNull(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.seq] }), index('user_events_created').on(t.createdAt)],
);

/** A user's report of another user (optionally about a conversation), with the messages attached for review. */
export const reports = pgTable(
  'reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    reporterId: text('reporter_id').notNull(),
    reportedId: text('reported_id').notNull(),
    conversationId: text('conversation_id'),
    reason: text('reason').notNull(),
    note: text('note'),
    /** Copies of the conversation's recent messages at report time, so deletions cannot hide evidence. */
    evidence: jsonb('evidence').notNull().default(sql`'[]'::jsonb`),
    status: text('status', { enum: ['open', 'resolved', 'dismissed'] }).notNull().default('open'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Set when a message (not only a user) was reported. */
    messageId: text('message_id'),
    /** The moderator's decision: actions taken, note, warning text (safety). */
    resolution: jsonb('resolution'),
    resolvedBy: text('resolved_by'),
    resolvedAt: ts('resolved_at'),
  },
  (t) => [index('reports_status').on(t.status, t.createdAt), index('reports_reported').on(t.reportedId)],
);

/** Durable outbox of signed webhook deliveries to the host backend. */
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    type: text('type').notNull(),
    body: text('body').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
    failedAt: ts('failed_at'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_outbox_due').on(t.nextAttemptAt).where(sql`delivered_at is null and failed_at is null`)],
);

// ---- support ----

/**
 * Support operators: status chosen by the operator, connectivity from their sockets, capacity.
 * `active_chats` counts chats offered to or owned by the operator; it only moves inside the same
 * transaction as the chat's conditional state change, so it never exceeds `max_chats` (G5).
 */
export const supportOperators = pgTable(
  'support_operators',
  {
    userId: text('user_id').primaryKey(),
    status: text('status', { enum: ['available', 'away', 'offline'] }).notNull().default('away'),
    maxChats: integer('max_chats').notNull().default(3),
    activeChats: integer('active_chats').notNull().default(0),
    /** Topics served; empty = every topic. */
    topics: text('topics').array().notNull().default(sql`'{}'::text[]`),
    lastAssignedAt: ts('last_assigned_at'),
    /** Set when the operator's last socket closed; the grace timer is due at this + grace (durable). */
    disconnectedAt: ts('disconnected_at'),
    /**
     * Durable last-seen: refreshed by the heartbeat of whichever instance holds the operator's
     * sockets. When it goes stale with no disconnect recorded (that instance crashed), the sweeper
     * starts the grace timer from it.
     */
    seenAt: ts('seen_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('support_operators_gone').on(t.disconnectedAt).where(sql`disconnected_at is not null`)],
);

/** A support chat: a Sohbet conversation plus its routing state. */
export const supportChats = pgTable(
  'support_chats',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    customerId: text('customer_id').notNull(),
    topic: text('topic').notNull(),
    priority: text('priority', { enum: ['low', 'normal', 'high', 'urgent'] }).notNull().default('normal'),
    state: text('state', { enum: ['queued', 'offered', 'assigned', 'pending', 'snoozed', 'resolved'] }).notNull().default('queued'),
    operatorId: text('operator_id'),
    offeredTo: text('offered_to'),
    /** Durable offer timer: the sweeper claims rows past this with FOR UPDATE SKIP LOCKED. */
    offerExpiresAt: ts('offer_expires_at'),
    /** Operators who declined or let an offer expire since the chat was last queued. */
    declinedBy: text('declined_by').array().notNull().default(sql`'{}'::text[]`),
    context: jsonb('context'),
    firstMessage: text('first_message').notNull(),
    queuedAt: ts('queued_at').notNull(),
    assignedAt: ts('assigned_at'),
    firstResponseAt: ts('first_response_at'),
    resolvedAt: ts('resolved_at'),
    /** Customer satisfaction after resolve: 1-5, once. */
    csatScore: integer('csat_score'),
    csatComment: text('csat_comment'),
    csatAt: ts('csat_at'),
    /** Last message by either side: the inactivity auto-close timer is due at this + the limit. */
    lastActivityAt: ts('last_activity_at'),
    /** Operators whose offer expired or who handed the chat to a team: asked again only when nobody else can take it. */
    skippedBy: text('skipped_by').array().notNull().default(sql`'{}'::text[]`),
    /** SLA warnings fired (once each; durable so a restart or a second instance never repeats them). */
    slaWaitWarnedAt: ts('sla_wait_warned_at'),
    slaResponseWarnedAt: ts('sla_response_warned_at'),
    version: integer('version').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    // At most one open support chat per customer and topic.
    uniqueIndex('support_chats_open').on(t.customerId, t.topic).where(sql`state <> 'resolved'`),
    uniqueIndex('support_chats_conversation').on(t.conversationId),
    index('support_chats_state').on(t.state, t.queuedAt),
    index('support_chats_operator').on(t.operatorId).where(sql`operator_id is not null`),
    index('support_chats_offer_due').on(t.offerExpiresAt).where(sql`state = 'offered'`),
  ],
);

/** Every routing decision with its reason: candidates, who was excluded and why, who won. */
export const supportDecisions = pgTable(
  'support_decisions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chatId: text('chat_id').notNull(),
    kind: text('kind').notNull(),
    decision: jsonb('decision').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('support_decisions_chat').on(t.chatId, t.id)],
);

// ---- media ----

/**
 * One uploaded file and its life: pending (signed URL handed out) -> ready (bytes checked,
 * processed) -> attached (in a message) -> deleting (message deleted for everyone, or upload never
 * finalized) -> row removed once the stored objects are gone. `dueAt` is the durable timer the
 * sweep claims with FOR UPDATE SKIP LOCKED.
 */
export const mediaObjects = pgTable(
  'media_objects',
  {
    id: text('id').primaryKey(),
    ownerId: text('owner_id').notNull(),
    conversationId: text('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['image', 'file', 'voice'] }).notNull(),
    state: text('state', { enum: ['pending', 'ready', 'attached', 'deleting'] }).notNull().default('pending'),
    name: text('name').notNull(),
    declaredMime: text('declared_mime').notNull(),
    declaredSize: num('declared_size').notNull(),
    mime: text('mime'),
    size: num('size'),
    storageKey: text('storage_key').notNull(),
    thumbKey: text('thumb_key'),
    width: integer('width'),
    height: integer('height'),
    placeholder: text('placeholder'),
    durationMs: integer('duration_ms'),
    waveform: jsonb('waveform').$type<number[]>(),
    messageSeq: num('message_seq'),
    dueAt: ts('due_at'),
    createdAt: ts('created_at').notNull(),
    finalizedAt: ts('finalized_at'),
  },
  (t) => [
    index('media_objects_due').on(t.dueAt).where(sql`due_at is not null`),
    index('media_objects_owner').on(t.ownerId),
    index('media_objects_message').on(t.conversationId, t.messageSeq).where(sql`message_seq is not null`),
  ],
);

/** Who played which voice message (first play counts, like a read receipt). */
export const mediaHeard = pgTable(
  'media_heard',
  {
    conversationId: text('conversation_id').notNull(),
    seq: num('seq').notNull(),
    userId: text('user_id').notNull(),
    heardAt: ts('heard_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.seq, t.userId] })],
);
// ---- end media ----
/** Internal notes on a support chat: operators only, never delivered to the customer. */
export const supportNotes = pgTable(
  'support_notes',
  {
    id: text('id').primaryKey(),
    chatId: text('chat_id').notNull().references(() => supportChats.id, { onDelete: 'cascade' }),
    authorId: text('author_id').notNull(),
    text: text('text').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('support_notes_chat').on(t.chatId, t.createdAt)],
);

/** Canned responses: shared by a team (topic), personal to an operator, or global (both null). */
export const supportCanned = pgTable(
  'support_canned',
  {
    id: text('id').primaryKey(),
    topic: text('topic'),
    ownerId: text('owner_id'),
    title: text('title').notNull(),
    text: text('text').notNull(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('support_canned_owner').on(t.ownerId), index('support_canned_topic').on(t.topic)],
);
// ---- calls ----

/**
 * Audio/video calls (server-authoritative state). `due_at` is the durable deadline of the current
 * state (ring timeout, connect timeout, max duration) and `*_gone_at` start the reconnect grace;
 * any instance's sweeper claims due rows with FOR UPDATE SKIP LOCKED. Every change is a
 * conditional update on `version`, so concurrent accepts and cancels resolve to one outcome (G5).
 */
export const calls = pgTable(
  'calls',
  {
    id: text('id').primaryKey(),
    conversationId: text('conversation_id').notNull().references(() => conversations.id, { onDelete: 'cascade' }),
    callerId: text('caller_id').notNull(),
    calleeId: text('callee_id').notNull(),
    media: text('media', { enum: ['audio', 'video'] }).notNull(),
    provider: text('provider', { enum: ['p2p', 'livekit'] }).notNull(),
    state: text('state', { enum: ['ringing', 'accepted', 'active', 'ended'] }).notNull(),
    endReason: text('end_reason', { enum: ['completed', 'declined', 'busy', 'cancelled', 'missed', 'failed', 'connection_lost'] }),
    endedBy: text('ended_by'),
    answeredByDevice: text('answered_by_device'),
    callerDevice: text('caller_device'),
    recording: boolean('recording').notNull().default(false),
    /** The provider's handle of the recording (LiveKit egress id), once it started. */
    recordingRef: text('recording_ref'),
    dueAt: ts('due_at'),
    callerGoneAt: ts('caller_gone_at'),
    calleeGoneAt: ts('callee_gone_at'),
    quality: jsonb('quality'),
    version: integer('version').notNull().default(0),
    createdAt: ts('created_at').notNull(),
    acceptedAt: ts('accepted_at'),
    activeAt: ts('active_at'),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('calls_due').on(t.dueAt).where(sql`state <> 'ended'`),
    index('calls_gone').on(t.callerGoneAt, t.calleeGoneAt).where(sql`state <> 'ended' and (caller_gone_at is not null or callee_gone_at is not null)`),
    index('calls_caller').on(t.callerId, t.createdAt),
    index('calls_callee').on(t.calleeId, t.createdAt),
  ],
);

/** Recordings of a call: one WebM per party on the embedded default (server-side werift peer). */
export const callRecordings = pgTable(
  'call_recordings',
  {
    id: text('id').primaryKey(),
    callId: text('call_id').notNull().references(() => calls.id, { onDelete: 'cascade' }),
    /** Whose media the file holds (null: the whole call, e.g. a LiveKit room composite). */
    userId: text('user_id'),
    /** Where the file is (null while recording, or when it failed before any file existed). */
    storageKey: text('storage_key'),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** recording → ready; partial (the recorder stopped early, the file holds what was written); failed. */
    status: text('status', { enum: ['recording', 'ready', 'partial', 'failed'] }).notNull().default('ready'),
    /** Why a recording is partial or failed (e.g. `server_restarted`, the Egress error). */
    error: text('error'),
    durationMs: integer('duration_ms'),
    /** LiveKit Egress id; the bucket the file is in when it is not the deployment's storage. */
    egressId: text('egress_id'),
    bucket: text('bucket'),
    updatedAt: ts('updated_at'),
  },
  (t) => [index('call_recordings_call').on(t.callId), index('call_recordings_open').on(t.status).where(sql`status = 'recording'`)],
);

/** LiveKit webhook deliveries already applied (LiveKit retries; a duplicate is ignored). */
export const callWebhookEvents = pgTable('call_webhook_events', {
  id: text('id').primaryKey(),
  receivedAt: ts('received_at').notNull().defaultNow(),
});

/** The line each user holds while in a live call: the primary key makes "one live call per user" atomic (busy). */
export const callLines = pgTable('call_lines', {
  userId: text('user_id').primaryKey(),
  callId: text('call_id').notNull(),
});
// ---- notify ----

/** A user's push endpoints: Expo and FCM tokens, APNs VoIP tokens, Web Push subscriptions. */
export const notifyDevices = pgTable(
  'notify_devices',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    kind: text('kind', { enum: ['expo', 'fcm', 'apns_voip', 'webpush', 'apns'] }).notNull(),
    /** The token, or the Web Push endpoint URL. */
    token: text('token').notNull(),
    /** Web Push only: the subscription's p256dh and auth keys. */
    keys: jsonb('keys'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('notify_devices_token').on(t.kind, t.token), index('notify_devices_user').on(t.userId)],
);

/** Per-user notification preferences and contact points (email and phone come from the user or the host backend). */
export const notifyPrefs = pgTable('notify_prefs', {
  userId: text('user_id').primaryKey(),
  locale: text('locale', { enum: ['az', 'en'] }).notNull().default('az'),
  email: text('email'),
  phone: text('phone'),
  /** { push, email, sms } — each channel on or off. */
  channels: jsonb('channels').notNull().default(sql`'{"push":true,"email":true,"sms":false}'::jsonb`),
  /** { message, call, missed_call, support } — each kind on or off. */
  kinds: jsonb('kinds').notNull().default(sql`'{"message":true,"call":true,"missed_call":true,"support":true}'::jsonb`),
  /** Quiet hours as minutes after local midnight (start == end: none), in the user's IANA time zone. */
  quietStart: integer('quiet_start').notNull().default(0),
  quietEnd: integer('quiet_end').notNull().default(0),
  timeZone: text('time_zone').notNull().default('Asia/Baku'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * The notification outbox: one row per notification per target (device, email address, phone),
 * written in the transaction of the event that caused it. A worker on any instance claims due rows
 * (a lease, FOR UPDATE SKIP LOCKED), sends them and records what the provider said.
 * queued → sending → accepted → delivered | dead (with reason) | skipped (a rule dropped it).
 */
export const notifyOutbox = pgTable(
  'notify_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Unique per notification and target: a replayed event or a second instance never adds a second row. */
    idempotencyKey: text('idempotency_key').notNull(),
    userId: text('user_id').notNull(),
    kind: text('kind', { enum: ['message', 'support_reply', 'call_incoming', 'call_stop', 'missed_call', 'badge'] }).notNull(),
    channel: text('channel', { enum: ['expo', 'fcm', 'apns_voip', 'webpush', 'email', 'sms', 'apns'] }).notNull(),
    deviceId: text('device_id'),
    target: text('target').notNull(),
    conversationId: text('conversation_id'),
    /** Newer rows with the same key replace queued older ones (one push per conversation and device). */
    collapseKey: text('collapse_key'),
    priority: text('priority', { enum: ['high', 'normal'] }).notNull().default('normal'),
    payload: jsonb('payload').notNull(),
    state: text('state', { enum: ['queued', 'sending', 'accepted', 'delivered', 'dead', 'skipped'] }).notNull().default('queued'),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull(),
    leaseUntil: ts('lease_until'),
    /** The provider's id for the accepted notification (Expo ticket, FCM name, apns-id, Twilio SID, email id). */
    providerId: text('provider_id'),
    createdAt: ts('created_at').notNull(),
    acceptedAt: ts('accepted_at'),
    deliveredAt: ts('delivered_at'),
    displayedAt: ts('displayed_at'),
    /** Message pushes: set once a read produced the badge/clear follow-up for them. */
    clearedAt: ts('cleared_at'),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('notify_outbox_key').on(t.idempotencyKey),
    index('notify_outbox_due').on(t.nextAttemptAt).where(sql`state = 'queued'`),
    index('notify_outbox_leased').on(t.leaseUntil).where(sql`state = 'sending'`),
    index('notify_outbox_receipts').on(t.channel, t.acceptedAt).where(sql`state = 'accepted'`),
    index('notify_outbox_collapse').on(t.collapseKey).where(sql`state = 'queued'`),
    index('notify_outbox_user').on(t.userId, t.conversationId).where(sql`cleared_at is null and kind in ('message', 'support_reply')`),
    index('notify_outbox_call').on(t.userId, t.kind),
    index('notify_outbox_state').on(t.state, t.updatedAt),
  ],
);
// ---- safety ----

/** Suspended accounts: their tokens are refused (`auth.suspended`) until lifted or `until` passes. */
export const userSuspensions = pgTable('user_suspensions', {
  userId: text('user_id').primaryKey(),
  reason: text('reason').notNull(),
  /** Null: until an admin lifts it. */
  until: ts('until'),
  suspendedBy: text('suspended_by').notNull(),
  reportId: num('report_id'),
  createdAt: ts('created_at').notNull(),
});

/** Every admin, moderator or server-API action that changed someone else's data. Append-only. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** A user id, or `server` for the host backend's API key. */
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind', { enum: ['user', 'server'] }).notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [index('audit_log_created').on(t.createdAt), index('audit_log_target').on(t.targetType, t.targetId), index('audit_log_actor').on(t.actorId)],
);
// ---- end safety ----
// ---- privacy ----

/**
 * Periodic jobs that must run once across all instances (the retention sweep): an instance runs
 * one only after moving `next_run_at` forward with a conditional update, so exactly one wins.
 */
export const privacyJobs = pgTable('privacy_jobs', {
  name: text('name').primaryKey(),
  nextRunAt: ts('next_run_at').notNull(),
  lastRunAt: ts('last_run_at'),
  lastResult: jsonb('last_result'),
});
