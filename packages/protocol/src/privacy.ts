/**
 * Privacy: a user's data export and account deletion.
 */

/** Shown instead of a deleted account's name in everyone else's history. */
export const DELETED_USER_NAME = 'Deleted user';

/** A file in an export: its metadata and a short-lived download link (absolute once the SDK resolved it). */
export interface ExportFileDTO {
  id: string;
  conversationId: string;
  kind: 'image' | 'file' | 'voice';
  name: string;
  mime: string | null;
  size: number | null;
  createdAt: string;
  messageSeq: number | null;
  url: string;
  urlExpiresAt: string;
}

/** Everything Sohbet keeps about one user, as one JSON document (`account.export`). */
export interface AccountExportDTO {
  format: 'sohbet.account-export';
  version: 1;
  exportedAt: string;
  profile: { id: string; name: string; avatarUrl: string | null; roles: string[]; createdAt: string; lastSeenAt: string | null };
  conversations: Array<{
    id: string;
    kind: 'direct' | 'group';
    title: string | null;
    context: unknown;
    role: string;
    joinedAt: string;
    lastReadSeq: number;
    muted: boolean;
    archived: boolean;
    members: Array<{ userId: string; name: string }>;
  }>;
  /** Messages this user sent, in every conversation, ordered by conversation and seq. */
  messages: Array<{
    id: string;
    conversationId: string;
    seq: number;
    clientId: string | null;
    kind: string;
    text: string | null;
    payload: unknown;
    replyToSeq: number | null;
    createdAt: string;
    editedAt: string | null;
    deletedAt: string | null;
  }>;
  reactions: Array<{ conversationId: string; seq: number; emoji: string; createdAt: string }>;
  files: ExportFileDTO[];
  calls: Array<{
    id: string;
    conversationId: string;
    direction: 'outgoing' | 'incoming';
    otherUserId: string;
    media: string;
    state: string;
    endReason: string | null;
    recording: boolean;
    createdAt: string;
    acceptedAt: string | null;
    endedAt: string | null;
  }>;
  /** Recordings of this user's own media in calls, with short-lived download links. */
  callRecordings: Array<{ id: string; callId: string; contentType: string; sizeBytes: number; createdAt: string; url: string | null; urlExpiresAt: string }>;
  supportChats: Array<{
    id: string;
    conversationId: string;
    topic: string;
    state: string;
    priority: string;
    firstMessage: string;
    createdAt: string;
    resolvedAt: string | null;
    csatScore: number | null;
    csatComment: string | null;
  }>;
  blocked: Array<{ userId: string; createdAt: string }>;
  reports: Array<{ reportedId: string; conversationId: string | null; reason: string; note: string | null; status: string; createdAt: string }>;
  notifications: {
    devices: Array<{ id: string; kind: string; token: string; createdAt: string }>;
    preferences: Record<string, unknown> | null;
  };
}

/** What an account deletion removed (`account.delete`, `account.deleteUser`). */
export interface AccountDeletionDTO {
  userId: string;
  deletedAt: string;
  /** False when the account had already been deleted (the call is idempotent). */
  deletedNow: boolean;
  messagesTombstoned: number;
  filesRemoved: number;
  recordingsRemoved: number;
  devicesRemoved: number;
  sessionsClosed: number;
}
