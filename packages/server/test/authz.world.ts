/**
 * The people and things of the authorization matrix (test/authz.matrix.test.ts). Each matrix cell
 * gets its own World (its own users, suffixed), and a World builds only what the cell's input asks
 * for, so cells never see each other's writes.
 */
import { randomBytes } from 'node:crypto';
import type { SohbetApp } from '../src/app.ts';
import { anonymousCaller, callerFor } from './caller.ts';
import { TEST_API_KEY } from './harness.ts';

export const ROLES = ['anonymous', 'outsider', 'blocked', 'member', 'operator', 'admin', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];
export type Caller = Awaited<ReturnType<typeof callerFor>>;

let cellN = 0;
const uid = () => randomBytes(5).toString('hex');
export const cid = () => `authz-${uid()}-${(cellN++).toString(36)}`;

/** The ids a cell's input refers to. A ghost Refs holds ids that exist nowhere. */
export interface Refs {
  /** The conversation the caller's role concerns: alice-bob, or alice-mallory for the blocked role. */
  conv(): Promise<string>;
  /** A group alice owns with bob (and mallory for the blocked role). */
  group(): Promise<string>;
  /** A seq in conv() written by the caller's side: alice's message (mallory's for the blocked role). */
  seq(): Promise<number>;
  /** A ringing call bob -> alice (alice -> mallory before the block, for the blocked role). */
  call(): Promise<string>;
  /** alice's support chat (queued on a topic the operator serves). */
  supportChat(): Promise<string>;
  /** A file alice sent in conv(). */
  attachment(): Promise<string>;
  /** alice's support chat, taken by the operator `op` (not by the supervisor `sup`). */
  ownedChat(): Promise<string>;
  /** An upload alice put but did not finalize. */
  upload(): Promise<string>;
  /** A push device of alice's. */
  device(): Promise<string>;
  /** A canned response of the operator's. */
  canned(): Promise<string>;
  /** Users by role. */
  user(role: 'alice' | 'bob' | 'mallory' | 'eve' | 'op' | 'sup'): string;
  topic: string;
}

export class World {
  readonly tag = uid();
  readonly alice = `alice-${this.tag}`;
  readonly bob = `bob-${this.tag}`;
  readonly mallory = `mallory-${this.tag}`;
  readonly eve = `eve-${this.tag}`;
  readonly op = `op-${this.tag}`;
  readonly adm = `adm-${this.tag}`;
  readonly sup = `sup-${this.tag}`;
  readonly topic = `t${this.tag}`;
  private memo = new Map<string, Promise<unknown>>();
  private constructor(readonly app: SohbetApp) {}

  /** A world whose people exist (as the host backend would have upserted them). */
  static async create(app: SohbetApp): Promise<World> {
    const w = new World(app);
    for (const id of [w.alice, w.bob, w.mallory, w.eve]) await app.services.conversations.upsertUser({ id, name: id, avatarUrl: null, roles: [] });
    return w;
  }

  private once<T>(key: string, f: () => Promise<T>): Promise<T> {
    if (!this.memo.has(key)) this.memo.set(key, f());
    return this.memo.get(key) as Promise<T>;
  }

  as(user: string, roles: string[] = []): Promise<Caller> {
    return this.once(`caller:${user}`, () => callerFor(this.app.services, user, { roles }));
  }

  async caller(role: Role): Promise<Caller | ReturnType<typeof anonymousCaller>> {
    switch (role) {
      case 'anonymous':
        return anonymousCaller(this.app.services);
      case 'outsider':
        return this.as(this.eve);
      case 'blocked':
        await this.blockedPair();
        return this.as(this.mallory);
      case 'member':
        return this.as(this.alice);
      case 'operator':
        return this.operator(this.op, ['operator']);
      case 'admin':
        return this.as(this.adm, ['admin']);
      case 'supervisor':
        return this.operator(this.sup, ['operator', 'admin']);
    }
  }

  serverCaller(key: string | null) {
    return anonymousCaller(this.app.services, key ? { apiKey: key } : {});
  }
  get apiKey() {
    return TEST_API_KEY;
  }

  private operator(id: string, roles: string[]) {
    return this.once(`operator:${id}`, async () => {
      const c = await this.as(id, roles);
      await c.support.updateMe({ topics: [this.topic], maxChats: 5, status: 'available' });
      return c;
    });
  }

  /** alice and mallory talked (mallory wrote seq 1, and called alice), then alice blocked mallory. */
  private blockedPair() {
    return this.once('blockedPair', async () => {
      const a = await this.as(this.alice);
      const m = await this.as(this.mallory);
      const conv = await m.chat.openDirect({ userId: this.alice, context: { type: 'listing', id: `l-${this.tag}`, title: 'Bike' } });
      await m.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hi' });
      const group = await a.chat.createGroup({ title: 'g', memberIds: [this.bob, this.mallory] });
      const callId = cid();
      await a.calls.start({ callId, deviceId: 'a-dev', userId: this.mallory, video: false });
      await a.users.block({ userId: this.mallory });
      return { conv: conv.id, group: group.id, call: callId };
    });
  }

  private pair() {
    return this.once('pair', async () => {
      const a = await this.as(this.alice);
      const b = await this.as(this.bob);
      const conv = await a.chat.openDirect({ userId: this.bob });
      await b.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hello alice' });
      const m = await a.chat.send({ conversationId: conv.id, clientId: cid(), text: 'hello bob' });
      return { conv: conv.id, seq: m.seq };
    });
  }

  refs(role: Role): Refs {
    const blocked = role === 'blocked';
    const user: Refs['user'] = (r) => ({ alice: this.alice, bob: this.bob, mallory: this.mallory, eve: this.eve, op: this.op, sup: this.sup })[r];
    return {
      topic: this.topic,
      user,
      conv: async () => (blocked ? (await this.blockedPair()).conv : (await this.pair()).conv),
      seq: async () => (blocked ? 1 : (await this.pair()).seq),
      group: async () =>
        blocked
          ? (await this.blockedPair()).group
          : this.once('group', async () => (await (await this.as(this.alice)).chat.createGroup({ title: 'g', memberIds: [this.bob] })).id),
      call: async () =>
        blocked
          ? (await this.blockedPair()).call
          : this.once('call', async () => {
              const callId = cid();
              await this.as(this.alice);
              await (await this.as(this.bob)).calls.start({ callId, deviceId: 'b-dev', userId: this.alice, video: false });
              return callId;
            }),
      supportChat: () =>
        this.once('support', async () => {
          const chat = await (await this.as(this.alice)).support.start({ topic: this.topic, text: 'my order is late', clientId: cid() });
          return chat.id;
        }),
      attachment: async () => {
        const conv = await this.refs(role).conv();
        return this.once(`att:${conv}`, async () => {
          const a = await this.as(this.alice);
          const bytes = Buffer.from('a receipt\n');
          const t = await a.media.requestUpload({ conversationId: conv, kind: 'file', name: 'receipt.txt', mime: 'text/plain', size: bytes.length });
          const put = await this.app.http.inject({ method: t.method as 'PUT', url: t.url, headers: t.headers as Record<string, string>, payload: bytes });
          if (put.statusCode >= 300) throw new Error(`upload failed: ${put.statusCode} ${put.body}`);
          await a.media.finalize({ attachmentId: t.attachmentId });
          await a.chat.send({ conversationId: conv, clientId: cid(), attachmentIds: [t.attachmentId] });
          return t.attachmentId;
        });
      },
      ownedChat: () =>
        this.once('owned', async () => {
          const op = await this.operator(this.op, ['operator']);
          const chat = await (await this.as(this.alice)).support.start({ topic: this.topic, text: 'my order is late', clientId: cid() });
          await op.support.pick({ chatId: chat.id });
          return chat.id;
        }),
      upload: () =>
        this.once('upload', async () => {
          const conv = await this.refs(role).conv();
          const bytes = Buffer.from('a receipt\n');
          const t = await (await this.as(this.alice)).media.requestUpload({ conversationId: conv, kind: 'file', name: 'receipt.txt', mime: 'text/plain', size: bytes.length });
          const put = await this.app.http.inject({ method: t.method as 'PUT', url: t.url, headers: t.headers as Record<string, string>, payload: bytes });
          if (put.statusCode >= 300) throw new Error(`upload failed: ${put.statusCode} ${put.body}`);
          return t.attachmentId;
        }),
      device: () =>
        this.once('device', async () => (await (await this.as(this.alice)).notify.registerDevice({ kind: 'expo', token: `ExponentPushToken[${this.tag}]` })).id),
      canned: () =>
        this.once('canned', async () => {
          const c = await this.operator(this.op, ['operator']);
          return (await c.support.addCanned({ title: 'hi', text: 'Hello!' })).id;
        }),
    };
  }

  /** Ids of things that exist nowhere, of the right shape (people stay real: who exists is public). */
  ghost(): Refs {
    const g = `ghost${uid()}`;
    return {
      topic: this.topic,
      user: this.refs('outsider').user,
      conv: async () => `c_${g}`,
      group: async () => `c_${g}g`,
      seq: async () => 1,
      call: async () => `call-${g}`,
      supportChat: async () => `sc_${g}`,
      ownedChat: async () => `sc_${g}o`,
      attachment: async () => `att_${g}`,
      canned: async () => `cr_${g}`,
      upload: async () => `att_${g}u`,
      device: async () => `dev_${g}`,
    };
  }
}
