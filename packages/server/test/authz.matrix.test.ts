/**
 * The authorization matrix (issue #9): every procedure of appRouter, called as every kind of
 * caller, with the answer each must get. The table is checked against the router itself, so a new
 * procedure without a row fails here. An outsider must learn nothing: asking about something that
 * exists and something that does not gives the same code and message (G6: and changes nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, isErrorCode, type ErrorCode } from '@sohbet/protocol';
import { buildApp, type SohbetApp } from '../src/app.ts';
import { appRouter } from '../src/router.ts';
import { dbKinds, openTestDatabase, testConfig } from './harness.ts';
import { cid, ROLES, World, type Refs, type Role } from './authz.world.ts';
import { connectSocket } from './ws-client.ts';

type Outcome = 'ok' | ErrorCode;
type Expect = Record<Role, Outcome>;
interface Row {
  /** The input, built from the cell's world (refs of the caller's role). */
  input?: (r: Refs, role: Role) => Promise<unknown> | unknown;
  expect: Expect;
  /** An outsider gets the same answer for real and non-existent ids. */
  hides?: boolean;
}
interface ServerRow {
  input?: (r: Refs) => Promise<unknown> | unknown;
  /** With the server API key (without it, and with a user token, the answer is auth.forbidden). */
  withKey: Outcome;
}

const signedIn = (o: Outcome, over: Partial<Expect> = {}): Expect => ({ anonymous: 'auth.missing', outsider: o, blocked: o, member: o, operator: o, admin: o, supervisor: o, ...over });
/** Anyone signed in, on their own things. */
const self = (over: Partial<Expect> = {}) => signedIn('ok', over);
/** Members of the thing only; everyone else gets `denied`, whatever their roles. */
const members = (denied: ErrorCode, over: Partial<Expect> = {}) => signedIn(denied, { member: 'ok', blocked: 'ok', ...over });
/** The operator role (support console). */
const operators = (over: Partial<Expect> = {}) => signedIn('support.not_operator', { operator: 'ok', supervisor: 'ok', ...over });
/** Operator + admin roles (supervisor view). */
const supervisors = () => signedIn('support.not_operator', { operator: 'support.not_supervisor', supervisor: 'ok' });
/** The moderator or admin role (safety review queue); `adminOutcome` when an admin gets past authorization. */
const moderators = (adminOutcome: Outcome = 'ok') => signedIn('safety.not_moderator', { admin: adminOutcome, supervisor: adminOutcome });
/** The admin role (notification pipeline). */
const admins = () => signedIn('auth.forbidden', { admin: 'ok', supervisor: 'ok' });
const anyone: Expect = { anonymous: 'ok', outsider: 'ok', blocked: 'ok', member: 'ok', operator: 'ok', admin: 'ok', supervisor: 'ok' };

const NM = 'chat.not_member' as const;
const ringing = { member: 'call.invalid_state', blocked: 'call.invalid_state' } as const;
/** Whom a role addresses when it talks to "the other party". */
const peerOf = (r: Refs, role: Role) => (role === 'member' ? r.user('bob') : r.user('alice'));

const rows: Record<string, Row> = {
  'auth.config': { expect: anyone },
  'auth.devLogin': { input: () => ({ userId: `dev-${cid()}` }), expect: anyone },

  'chat.openDirect': { input: (r, role) => ({ userId: peerOf(r, role) }), expect: self() },
  // Adding someone who blocked you to a group would route around the block.
  'chat.createGroup': { input: (r, role) => ({ title: 'Team', memberIds: [peerOf(r, role)] }), expect: self({ blocked: 'chat.blocked' }) },
  'chat.addMembers': { input: async (r) => ({ conversationId: await r.group(), userIds: [r.user('eve')] }), expect: members(NM, { blocked: 'chat.not_admin' }), hides: true },
  'chat.removeMember': { input: async (r) => ({ conversationId: await r.group(), userId: r.user('bob') }), expect: members(NM, { blocked: 'chat.not_admin' }), hides: true },
  'chat.list': { expect: self() },
  'chat.get': { input: async (r) => ({ conversationId: await r.conv() }), expect: members(NM), hides: true },
  'chat.setMuted': { input: async (r) => ({ conversationId: await r.conv(), muted: true }), expect: members(NM), hides: true },
  'chat.setArchived': { input: async (r) => ({ conversationId: await r.conv(), archived: true }), expect: members(NM), hides: true },
  'chat.send': { input: async (r) => ({ conversationId: await r.conv(), clientId: cid(), text: 'hi' }), expect: members(NM, { blocked: 'chat.blocked' }), hides: true },
  'chat.history': { input: async (r) => ({ conversationId: await r.conv() }), expect: members(NM), hides: true },
  // An edit reaches the person who blocked you as a new text would; deleting your own message does not.
  'chat.edit': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq(), text: 'edited' }), expect: members(NM, { blocked: 'chat.blocked' }), hides: true },
  'chat.delete': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq(), scope: 'everyone' }), expect: members(NM), hides: true },
  // A reaction or a typing signal reaches the person who blocked you as much as a message does.
  'chat.react': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq(), emoji: '👍', on: true }), expect: members(NM, { blocked: 'chat.blocked' }), hides: true },
  'chat.markRead': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq() }), expect: members(NM), hides: true },
  'chat.markDelivered': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq() }), expect: members(NM), hides: true },
  'chat.typing': { input: async (r) => ({ conversationId: await r.conv() }), expect: members(NM, { blocked: 'chat.blocked' }), hides: true },
  'chat.search': { input: async (r) => ({ query: 'hello', conversationId: await r.conv() }), expect: members(NM), hides: true },

  'users.me': { expect: self() },
  'users.get': { input: (r) => ({ userIds: [r.user('alice')] }), expect: self() },
  'users.presence': { input: (r) => ({ userIds: [r.user('alice')] }), expect: self() },
  'users.block': { input: (r) => ({ userId: r.user('bob') }), expect: self() },
  'users.unblock': { input: (r) => ({ userId: r.user('bob') }), expect: self() },
  'users.blocked': { expect: self() },
  'users.report': { input: async (r, role) => ({ userId: peerOf(r, role) === r.user('alice') && role !== 'blocked' ? r.user('bob') : peerOf(r, role), reason: 'spam', conversationId: await r.conv() }), expect: members(NM), hides: true },

  // A report about a user in a conversation (the message form needs a message id; safety.api.test covers it).
  'chat.report': { input: async (r, role) => ({ userId: peerOf(r, role) === r.user('alice') && role !== 'blocked' ? r.user('bob') : peerOf(r, role), reason: 'spam', conversationId: await r.conv() }), expect: members(NM), hides: true },

  // The review queue: moderators and admins (no fixture has only the moderator role). A report id that
  // does not exist takes an admin past authorization to the lookup.
  'safety.reports': { input: () => ({}), expect: moderators() },
  'safety.report': { input: () => ({ reportId: 987_654_321 }), expect: moderators('safety.report_not_found') },
  'safety.resolve': { input: () => ({ reportId: 987_654_321, actions: ['dismiss'] }), expect: moderators('safety.report_not_found') },
  'safety.suspend': { input: (r) => ({ userId: r.user('bob'), reason: 'scam', hours: 1 }), expect: moderators() },
  'safety.suspensions': { expect: moderators() },
  'safety.lift': { input: (r) => ({ userId: r.user('bob') }), expect: moderators() },
  'safety.audit': { input: () => ({}), expect: moderators() },

  // Your own data; another account's only with the admin role (or the server API key).
  'account.export': { expect: self() },
  'account.delete': { input: () => ({ confirm: 'DELETE' }), expect: self() },
  'account.exportUser': { input: (r) => ({ userId: r.user('alice') }), expect: signedIn('auth.forbidden', { admin: 'ok', supervisor: 'ok' }) },
  'account.deleteUser': { input: (r) => ({ userId: r.user('bob') }), expect: signedIn('auth.forbidden', { admin: 'ok', supervisor: 'ok' }) },

  'sync.since': { input: () => ({}), expect: self() },
  'sync.events': { expect: self() }, // a subscription: checked over the WebSocket below

  'support.start': { input: (r) => ({ topic: r.topic, text: 'help please', clientId: cid() }), expect: self() },
  'support.mine': { expect: self() },
  // The customer and any operator may read a support chat.
  'support.get': { input: async (r) => ({ chatId: await r.supportChat() }), expect: members('support.not_found', { blocked: 'support.not_found', operator: 'ok', supervisor: 'ok' }), hides: true },
  // Rating needs a resolved chat: the customer gets past authorization to the state check.
  'support.rate': { input: async (r) => ({ chatId: await r.supportChat(), score: 5 }), expect: members('support.not_found', { blocked: 'support.not_found', member: 'support.invalid_state' }), hides: true },
  'support.me': { expect: operators() },
  'support.updateMe': { input: () => ({ status: 'away' }), expect: operators() },
  'support.operators': { expect: operators() },
  'support.queue': { expect: operators() },
  'support.myChats': { expect: operators() },
  'support.decisions': { input: async (r) => ({ chatId: await r.supportChat() }), expect: operators() },
  'support.accept': { input: async (r) => ({ chatId: await r.supportChat() }), expect: operators() },
  'support.decline': { input: async (r) => ({ chatId: await r.supportChat() }), expect: operators() },
  'support.pick': { input: async (r) => ({ chatId: await r.supportChat() }), expect: operators() },
  // Only the operator who owns a chat moves it; another operator (here: the supervisor) is refused.
  'support.transfer': { input: async (r) => ({ chatId: await r.ownedChat(), toTopic: `${r.topic}x` }), expect: operators({ supervisor: 'support.already_assigned' }) },
  'support.setState': { input: async (r) => ({ chatId: await r.ownedChat(), state: 'pending' }), expect: operators({ supervisor: 'support.already_assigned' }) },
  'support.setPriority': { input: async (r) => ({ chatId: await r.supportChat(), priority: 'high' }), expect: operators() },
  'support.resolve': { input: async (r) => ({ chatId: await r.ownedChat() }), expect: operators({ supervisor: 'support.already_assigned' }) },
  'support.addNote': { input: async (r) => ({ chatId: await r.supportChat(), text: 'VIP' }), expect: operators() },
  'support.notes': { input: async (r) => ({ chatId: await r.supportChat() }), expect: operators() },
  'support.canned': { expect: operators() },
  'support.addCanned': { input: () => ({ title: 'Hi', text: 'Hello!' }), expect: operators() },
  'support.deleteCanned': { input: async (r) => ({ id: await r.canned() }), expect: operators() },
  'support.metrics': { expect: supervisors() },
  'support.openChats': { expect: supervisors() },
  'support.reassign': { input: async (r) => ({ chatId: await r.ownedChat(), toOperatorId: r.user('sup') }), expect: supervisors() },

  'media.requestUpload': { input: async (r) => ({ conversationId: await r.conv(), kind: 'file', name: 'a.txt', mime: 'text/plain', size: 10 }), expect: members(NM), hides: true },
  'media.finalize': { input: async (r) => ({ attachmentId: await r.upload() }), expect: members('media.not_found', { blocked: 'media.not_found' }), hides: true },
  'media.cancel': { input: async (r) => ({ attachmentId: await r.upload() }), expect: members('media.not_found', { blocked: 'media.not_found' }), hides: true },
  'media.url': { input: async (r) => ({ attachmentId: await r.attachment() }), expect: members('media.not_found'), hides: true },
  // A text message is not a voice message: members get past authorization to that check.
  'media.markHeard': { input: async (r) => ({ conversationId: await r.conv(), seq: await r.seq() }), expect: members(NM, { member: 'chat.message_not_found', blocked: 'chat.message_not_found' }), hides: true },
  'media.heard': { input: async (r) => ({ conversationId: await r.conv(), seqs: [await r.seq()] }), expect: members(NM), hides: true },

  'calls.start': { input: (r, role) => ({ callId: cid(), deviceId: 'dev', userId: peerOf(r, role) }), expect: self({ blocked: 'call.blocked' }) },
  'calls.accept': { input: async (r) => ({ callId: await r.call(), deviceId: 'dev' }), expect: members('call.not_found'), hides: true },
  'calls.decline': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found'), hides: true },
  'calls.hangup': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found'), hides: true },
  // Media steps of a call that is still ringing: the parties get past authorization to the state check.
  'calls.connected': { input: async (r) => ({ callId: await r.call(), deviceId: 'dev' }), expect: members('call.not_found', ringing), hides: true },
  'calls.upgrade': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found'), hides: true },
  'calls.join': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found'), hides: true },
  'calls.signal': { input: async (r) => ({ callId: await r.call(), deviceId: 'dev', signal: { kind: 'description', type: 'offer', sdp: 'v=0' } }), expect: members('call.not_found', ringing), hides: true },
  'calls.quality': { input: async (r) => ({ callId: await r.call(), deviceId: 'dev', report: { rttMs: 10, loss: 0, jitterMs: 1, bitrateKbps: 500 } }), expect: members('call.not_found', ringing), hides: true },
  'calls.get': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found'), hides: true },
  'calls.recorderOffer': { input: async (r) => ({ callId: await r.call(), deviceId: 'dev', sdp: 'v=0' }), expect: members('call.not_found', ringing), hides: true },
  // The admin role may list the recordings of any call (moderation); other outsiders see none.
  'calls.recordings': { input: async (r) => ({ callId: await r.call() }), expect: members('call.not_found', { admin: 'ok', supervisor: 'ok' }), hides: true },
  // A recording id that does not exist: the parties (and admins) get past authorization to the lookup.
  'calls.recordingUrl': { input: async (r) => ({ callId: await r.call(), recordingId: 'rec-none' }), expect: members('call.not_found', { member: 'call.recording_not_found', blocked: 'call.recording_not_found', admin: 'call.recording_not_found', supervisor: 'call.recording_not_found' }), hides: true },
  'calls.history': { expect: self() },

  'notify.registerDevice': { input: () => ({ kind: 'expo', token: `ExponentPushToken[${cid()}]` }), expect: self() },
  // Someone else's device is "no such device of yours", like one that never existed.
  'notify.unregisterDevice': { input: async (r) => ({ deviceId: await r.device() }), expect: signedIn('notify.device_not_found', { member: 'ok' }), hides: true },
  'notify.devices': { expect: self() },
  'notify.preferences': { expect: self() },
  'notify.setPreferences': { input: () => ({ channels: { email: false } }), expect: self() },
  // Only mutes the caller's own notifications, and answers alike for any id: nothing to guard or learn.
  'notify.setActive': { input: async (r) => ({ conversationId: await r.conv() }), expect: self() },
  'notify.ackDisplay': { input: () => ({ notificationId: '1' }), expect: self() },
  'notify.webPushKey': { expect: self() },
  'notify.admin.outbox': { input: () => ({}), expect: admins() },
  'notify.admin.deadLetters': { input: () => ({}), expect: admins() },
  'notify.admin.stats': { expect: admins() },
};

const serverRows: Record<string, ServerRow> = {
  'server.upsertUser': { input: () => ({ id: `host-${cid()}`, name: 'Host user' }), withKey: 'ok' },
  'server.openConversation': { input: (r) => ({ userIds: [r.user('alice'), r.user('bob')] }), withKey: 'ok' },
  'server.postSystemMessage': { input: async (r) => ({ conversationId: await r.conv(), clientId: cid(), text: 'The listing was sold' }), withKey: 'ok' },
  'server.support.setPriority': { input: async (r) => ({ chatId: await r.supportChat(), priority: 'high' }), withKey: 'ok' },
  'server.support.setOperator': { input: (r) => ({ userId: r.user('op'), status: 'away' }), withKey: 'ok' },
  'server.support.decisions': { input: async (r) => ({ chatId: await r.supportChat() }), withKey: 'ok' },
  'server.support.metrics': { withKey: 'ok' },
  'server.notify.setContact': { input: (r) => ({ userId: r.user('alice'), email: 'alice@example.com' }), withKey: 'ok' },
  'server.notify.outbox': { input: () => ({}), withKey: 'ok' },
  'media.usage': { input: () => ({}), withKey: 'ok' },
  'server.safety.reports': { input: () => ({}), withKey: 'ok' },
  'server.safety.report': { input: () => ({ reportId: 987_654_321 }), withKey: 'safety.report_not_found' },
  'server.safety.resolve': { input: () => ({ reportId: 987_654_321, actions: ['dismiss'] }), withKey: 'safety.report_not_found' },
  'server.safety.suspend': { input: (r) => ({ userId: r.user('bob'), reason: 'scam', hours: 1 }), withKey: 'ok' },
  'server.safety.suspensions': { withKey: 'ok' },
  'server.safety.lift': { input: (r) => ({ userId: r.user('bob') }), withKey: 'ok' },
  'server.safety.audit': { input: () => ({}), withKey: 'ok' },
};

interface Seen {
  outcome: Outcome | `unexpected:${string}`;
  message: string;
  trpcCode?: string;
}

/** Calls one procedure by its dotted path on a caller, and classifies the answer. */
async function call(caller: unknown, path: string, input: unknown): Promise<Seen> {
  const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (i: unknown) => Promise<unknown>;
  try {
    await fn(input);
    return { outcome: 'ok', message: '' };
  } catch (err) {
    const e = err as { code?: string; message: string; cause?: { code?: unknown; name?: string } };
    if (e.cause && isErrorCode(e.cause.code)) return { outcome: e.cause.code, message: e.message, trpcCode: e.code };
    if (e.cause?.name === 'ZodError') return { outcome: 'input.invalid', message: e.message, trpcCode: e.code };
    return { outcome: `unexpected:${e.code ?? String(err)}`, message: e.message, trpcCode: e.code };
  }
}

async function inBatches(tasks: Array<() => Promise<void>>, n: number): Promise<void> {
  for (let i = 0; i < tasks.length; i += n) await Promise.all(tasks.slice(i, i + n).map((t) => t()));
}

const TRPC_BY_STATUS: Record<number, string> = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 429: 'TOO_MANY_REQUESTS' };

// Authorization lives in the services, the same on every database: the ~550 cells run once, on
// PostgreSQL when the run has it (cells run side by side there) and on PGlite otherwise.
describe.each([dbKinds[dbKinds.length - 1]!])('authorization matrix on %s', (kind) => {
  let app: SohbetApp;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const db = await openTestDatabase(kind);
    cleanup = db.cleanup;
    app = await buildApp(testConfig({ ...db.env, RATE_LIMITS: ['message', 'message.identical', 'conversation.new', 'conversation.new.young_account', 'support.start', 'call.start', 'upload', 'connect', 'connect.ip', 'login.ip'].map((a) => `${a}=off`).join(',') }), { database: db.database });
    await app.http.ready();
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  it('has a row for every procedure of appRouter, and no row for a procedure that does not exist', () => {
    const procedures = Object.keys((appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures).sort();
    expect(procedures.length).toBeGreaterThan(50);
    expect([...Object.keys(rows), ...Object.keys(serverRows)].sort()).toEqual(procedures);
    const types = (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures;
    // Subscriptions are called over the WebSocket: today there is one, sync.events.
    expect(Object.entries(types).filter(([, p]) => p._def.type === 'subscription').map(([k]) => k)).toEqual(['sync.events']);
  });

  // PGlite is one connection: the cells run one after another there (minutes on a busy host).
  it('answers every procedure, for every kind of caller, as the table says (status matching the code)', { timeout: kind === 'postgres' ? 240_000 : 900_000 }, async () => {
    const wrong: string[] = [];
    const cell = async (path: string, row: Row, role: Role, shared: Promise<World>) => {
      // A refused call changes nothing (G6), so the refused cells of a row share one world; a cell
      // that succeeds may change things, so it gets a world of its own.
      const w = row.expect[role] === 'ok' ? await World.create(app) : await shared;
      const caller = await w.caller(role);
      const input = row.input ? await row.input(w.refs(role), role) : undefined;
      const seen = await call(caller, path, input);
      const want = row.expect[role];
      if (seen.outcome !== want) wrong.push(`${path} as ${role}: expected ${want}, got ${seen.outcome} (${seen.message})`);
      else if (want !== 'ok' && TRPC_BY_STATUS[ERROR_STATUS[want]] !== seen.trpcCode) wrong.push(`${path} as ${role}: ${want} came as ${seen.trpcCode}`);
    };
    // Cells share nothing (each has its own world), so a row's cells run side by side.
    const cells = Object.entries(rows)
      .filter(([path]) => path !== 'sync.events')
      .flatMap(([path, row]) => {
        let shared: Promise<World> | null = null;
        return ROLES.map((role) => () => cell(path, row, role, (shared ??= World.create(app))));
      });
    await inBatches(cells, 14);
    expect(wrong.sort()).toEqual([]);
  });

  it('tells an outsider the same thing about an existing and a non-existent conversation, message, call, support chat, attachment, device', { timeout: 60_000 }, async () => {
    const differ: string[] = [];
    const probe = async (path: string, row: Row) => {
      const w = await World.create(app);
      const caller = await w.caller('outsider');
      const real = await call(caller, path, await row.input!(w.refs('outsider'), 'outsider'));
      const ghost = await call(caller, path, await row.input!(w.ghost(), 'outsider'));
      if (real.outcome === 'ok') differ.push(`${path}: the outsider was let in`);
      if (real.outcome !== ghost.outcome || real.message !== ghost.message) differ.push(`${path}: existing -> ${real.outcome} "${real.message}", missing -> ${ghost.outcome} "${ghost.message}"`);
    };
    const hidden = Object.entries(rows).filter(([, row]) => row.hides);
    expect(hidden.length).toBeGreaterThan(30);
    await inBatches(hidden.map(([path, row]) => () => probe(path, row)), 8);
    expect(differ.sort()).toEqual([]);
  });

  it('lets only the host backend (the server API key) call server.* procedures; a user token or a wrong key is auth.forbidden', { timeout: 60_000 }, async () => {
    const wrong: string[] = [];
    const tasks = Object.entries(serverRows).flatMap(([path, row]) => (['none', 'wrong key', 'user token', 'admin token', 'key'] as const).map((who) => async () => {
        const w = await World.create(app);
        const caller =
          who === 'key' ? w.serverCaller(w.apiKey) : who === 'wrong key' ? w.serverCaller(`${w.apiKey}x`) : who === 'none' ? w.serverCaller(null) : await w.caller(who === 'user token' ? 'member' : 'supervisor');
        const input = row.input ? await row.input(w.refs('member')) : undefined;
        const seen = await call(caller, path, input);
        const want = who === 'key' ? row.withKey : 'auth.forbidden';
        if (seen.outcome !== want) wrong.push(`${path} with ${who}: expected ${want}, got ${seen.outcome} (${seen.message})`);
    }));
    await inBatches(tasks, 10);
    expect(wrong.sort()).toEqual([]);
  });

  it('sync.events: a socket without a valid token is closed with 4401; a signed-in outsider, blocked user or operator gets no event of a conversation they are not in', { timeout: 60_000 }, async () => {
    const addr = await app.http.listen({ host: '127.0.0.1', port: 0 });
    const wsUrl = `${addr.replace('http', 'ws')}/ws`;
    const anon = connectSocket(wsUrl, 'not-a-token');
    await expect.poll(() => anon.closes[0]?.code, { timeout: 20_000 }).toBe(4401);
    await anon.close();

    const w = await World.create(app);
    const r = w.refs('member');
    const conv = await r.conv();
    const tokenOf = (id: string, roles: string[] = []) => app.services.auth.mint({ id, roles }, 600);
    const watchers = {
      outsider: connectSocket(wsUrl, await tokenOf(w.eve)),
      blocked: connectSocket(wsUrl, await tokenOf(w.mallory)),
      supervisor: connectSocket(wsUrl, await tokenOf(w.sup, ['operator', 'admin'])),
      member: connectSocket(wsUrl, await tokenOf(w.bob)),
    };
    await Promise.all(Object.values(watchers).map((s) => s.ready()));
    const alice = await w.caller('member');
    await (alice as Awaited<ReturnType<World['as']>>).chat.send({ conversationId: conv, clientId: cid(), text: 'private' });
    await (alice as Awaited<ReturnType<World['as']>>).chat.typing({ conversationId: conv });
    await watchers.member.waitFor((e) => e.type === 'chat.message.created' && JSON.stringify(e).includes('private'));
    await watchers.member.waitFor((e) => e.type === 'chat.typing');
    await new Promise((res) => setTimeout(res, 300));
    for (const role of ['outsider', 'blocked', 'supervisor'] as const) {
      const leaked = watchers[role].events.filter((e) => JSON.stringify(e).includes(conv));
      expect(leaked, role).toEqual([]);
    }
    await Promise.all(Object.values(watchers).map((s) => s.close()));
  });
});
