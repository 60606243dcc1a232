import {
  callProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  isTrackedEnvelope,
  parseConnectionParamsFromUnknown,
  parseTRPCMessage,
  TRPCError,
  type AnyRouter,
} from '@trpc/server/unstable-core-do-not-import';
import type { WebSocket } from 'ws';

/**
 * tRPC's WebSocket protocol (what `@trpc/client`'s wsLink speaks), served with one small object
 * per socket. tRPC's own adapter builds about thirty closures, two abort controllers, promise
 * races and `using` scopes per connection and copies every outgoing frame three times for its
 * transformer; with tens of thousands of idle sockets that was most of the server's memory
 * per connection, and on every message a good part of its CPU. The protocol is unchanged:
 *
 * - `?connectionParams=1`: the first frame is `{"method":"connectionParams","data":{...}}`;
 *   other frames wait until the context exists. A failing context answers `{id:null,error}` and closes.
 * - `{id, method: query|mutation, params:{path,input}}` → `{id, result:{type:'data', data}}` or `{id, error}`.
 * - `{id, method:'subscription', params:{path,input,lastEventId?}}` → `started`, then
 *   `{id, result:{type:'data', id, data:{id, data}}}` per `tracked()` value, then `stopped`;
 *   `{id, method:'subscription.stop'}` ends it. `lastEventId` is merged into the input.
 * - a JSON array is a batch (at most `maxBatchSize` calls); the text frames `PING`/`PONG` are keep-alives.
 *
 * JSON only: the router must not use a transformer (Sohbet's does not).
 */
export interface WsAdapterOptions<TContext> {
  router: AnyRouter;
  createContext: (socket: WebSocket, connectionParams: Record<string, string> | null) => Promise<TContext>;
  encode: (msg: unknown) => string;
  onError?: (info: { error: TRPCError; path?: string; type: string; ctx: TContext | undefined }) => void;
  /** Subscriptions one socket may hold at once (tRPC has no limit; a socket opening thousands is an attack). */
  maxSubscriptions?: number;
  /**
   * Calls one batch frame may carry (default 1000; wsLink batches whatever was sent in the same
   * tick, e.g. an outbox flush); a larger batch is refused as a whole, each call with an error.
   */
  maxBatchSize?: number;
}

type Id = string | number | null;
interface Call {
  id: Id;
  jsonrpc?: '2.0';
  method: 'query' | 'mutation' | 'subscription' | 'subscription.stop';
  params?: { path: string; input: unknown; lastEventId?: string };
}

const OPEN = 1;
const session = Symbol('trpcSession');
type Tracked = WebSocket & { [session]?: Session<unknown> };

class Session<TContext> {
  ctx: TContext | undefined = undefined;
  ctxPromise: Promise<boolean> | null = null;
  subs: Map<Id, AbortController> | null = null;

  constructor(
    readonly socket: WebSocket,
    readonly o: WsAdapterOptions<TContext>,
  ) {}

  start(params: Record<string, string> | null): void {
    this.ctxPromise = this.o.createContext(this.socket, params).then(
      (ctx) => ((this.ctx = ctx), true),
      (cause) => {
        const error = getTRPCErrorFromUnknown(cause);
        this.report(error, undefined, 'unknown');
        this.respond({ id: null, error: this.shape(error, undefined, 'unknown', undefined) });
        setImmediate(() => this.socket.close());
        return false;
      },
    );
  }

  respond(msg: object): void {
    if (this.socket.readyState === OPEN) this.socket.send(this.o.encode(msg));
  }

  shape(error: TRPCError, path: string | undefined, type: string, input: unknown): unknown {
    return getErrorShape({ config: this.o.router._def._config, error, type: type as never, path, input, ctx: this.ctx });
  }

  report(error: TRPCError, path: string | undefined, type: string): void {
    try {
      this.o.onError?.({ error, path, type, ctx: this.ctx });
    } catch {
      /* a failing logger must not take the socket down */
    }
  }

  fail(call: Call, cause: unknown): void {
    const error = getTRPCErrorFromUnknown(cause);
    const path = call.params?.path;
    this.report(error, path, call.method);
    this.respond({ id: call.id, jsonrpc: call.jsonrpc, error: this.shape(error, path, call.method, call.params?.input) });
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.respond({ id: null, error: this.shape(new TRPCError({ code: 'UNPROCESSABLE_CONTENT', message: 'Sohbet uses text frames' }), undefined, 'unknown', undefined) });
      return;
    }
    const text = data.toString('utf8');
    if (text === 'PONG') return;
    if (text === 'PING') return void this.socket.send('PONG');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      this.respond({ id: null, error: this.shape(new TRPCError({ code: 'PARSE_ERROR', message: 'invalid JSON', cause }), undefined, 'unknown', undefined) });
      return;
    }
    if (!this.ctxPromise) {
      // The connection-params frame.
      let params: Record<string, string> | null;
      try {
        const d = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as { data?: unknown }).data : undefined;
        if (d === undefined) throw new Error('expected {"method":"connectionParams","data":{...}}');
        params = parseConnectionParamsFromUnknown(d) as Record<string, string> | null;
      } catch (cause) {
        this.ctxPromise = this.failedParams(cause);
        return;
      }
      this.start(params);
      return;
    }
    const raws = Array.isArray(parsed) ? parsed : [parsed];
    const maxBatch = this.o.maxBatchSize ?? 1000;
    if (raws.length > maxBatch) {
      // Every call of the refused batch is answered, so no client waits for a reply that never comes.
      const error = this.shape(new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `at most ${maxBatch} calls per batch` }), undefined, 'unknown', undefined);
      let answered = false;
      for (const raw of raws) {
        const id = (raw as { id?: unknown } | null)?.id;
        if ((typeof id === 'number' || typeof id === 'string') && (raw as { method?: unknown }).method !== 'subscription.stop') {
          this.respond({ id, error });
          answered = true;
        }
      }
      if (!answered) this.respond({ id: null, error });
      return;
    }
    const calls: Call[] = [];
    for (const raw of raws) {
      try {
        calls.push(parseTRPCMessage(raw, this.o.router._def._config.transformer) as Call);
      } catch (cause) {
        const id = raw && typeof raw === 'object' && (typeof (raw as { id?: unknown }).id === 'number' || typeof (raw as { id?: unknown }).id === 'string') ? ((raw as { id: Id }).id) : null;
        this.respond({ id, error: this.shape(new TRPCError({ code: 'PARSE_ERROR', message: (cause as Error).message, cause }), undefined, 'unknown', undefined) });
      }
    }
    for (const call of calls) void this.handle(call);
  }

  private async failedParams(cause: unknown): Promise<boolean> {
    const error = new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed TRPCConnectionParamsMessage', cause });
    this.report(error, undefined, 'unknown');
    this.respond({ id: null, error: this.shape(error, undefined, 'unknown', undefined) });
    setImmediate(() => this.socket.close());
    return false;
  }

  async handle(call: Call): Promise<void> {
    if (call.method === 'subscription.stop') {
      this.subs?.get(call.id)?.abort();
      return;
    }
    if (call.id === null) return this.fail(call, new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' }));
    const sub = call.method === 'subscription';
    const max = this.o.maxSubscriptions ?? 100;
    if (sub && this.subs?.has(call.id)) return this.fail(call, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${call.id}` }));
    if (sub && (this.subs?.size ?? 0) >= max) return this.fail(call, new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `at most ${max} subscriptions per socket` }));
    const abort = sub ? new AbortController() : null;
    if (abort) (this.subs ??= new Map()).set(call.id, abort);
    try {
      if (!(await this.ctxPromise)) return;
      const params = call.params!;
      let input = params.input;
      if (params.lastEventId !== undefined) input = input && typeof input === 'object' ? { ...(input as object), lastEventId: params.lastEventId } : (input ?? { lastEventId: params.lastEventId });
      if (abort && (abort.signal.aborted || this.socket.readyState !== OPEN)) return;
      const result = await callProcedure({
        router: this.o.router,
        path: params.path,
        getRawInput: async () => input,
        ctx: this.ctx,
        type: call.method as 'query' | 'mutation' | 'subscription',
        signal: abort?.signal ?? undefined,
        batchIndex: 0,
      });
      const iterable = result && typeof result === 'object' && Symbol.asyncIterator in (result as object);
      if (!sub) {
        if (iterable) throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Cannot return an async iterable from a ${call.method} procedure` });
        this.respond({ id: call.id, jsonrpc: call.jsonrpc, result: { type: 'data', data: result } });
        return;
      }
      if (!iterable) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${params.path} did not return an AsyncGenerator` });
      const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      try {
        if (abort!.signal.aborted || this.socket.readyState !== OPEN) return;
        this.respond({ id: call.id, jsonrpc: call.jsonrpc, result: { type: 'started' } });
        // The procedure's generator watches the signal and returns when it fires.
        for (;;) {
          const next = await iterator.next();
          if (next.done || abort!.signal.aborted) break;
          const v = next.value;
          if (isTrackedEnvelope(v)) this.respond({ id: call.id, jsonrpc: call.jsonrpc, result: { type: 'data', id: v[0], data: { id: v[0], data: v[1] } } });
          else this.respond({ id: call.id, jsonrpc: call.jsonrpc, result: { type: 'data', data: v } });
        }
      } finally {
        await iterator.return?.();
      }
      this.respond({ id: call.id, jsonrpc: call.jsonrpc, result: { type: 'stopped' } });
    } catch (cause) {
      if (abort?.signal.aborted) return; // stopped or disconnected: nobody to tell
      this.fail(call, cause);
    } finally {
      if (abort) {
        abort.abort();
        this.subs?.delete(call.id);
      }
    }
  }

  closed(): void {
    if (this.subs) for (const a of this.subs.values()) a.abort();
    this.ctxPromise ??= Promise.resolve(false);
  }
}

function onMessage(this: Tracked, data: Buffer, isBinary: boolean): void {
  this[session]!.onMessage(data, isBinary);
}
function onClose(this: Tracked): void {
  this[session]!.closed();
}

/** Serves `opts.router` on each socket passed to the returned function. */
export function wsConnectionHandler<TContext>(opts: WsAdapterOptions<TContext>): (socket: WebSocket, url: string) => void {
  const t = opts.router._def._config.transformer as { input: { deserialize: (x: unknown) => unknown }; output: { serialize: (x: unknown) => unknown } };
  const probe = {};
  if (t.output.serialize(probe) !== probe || t.input.deserialize(probe) !== probe) throw new Error('the WebSocket adapter speaks plain JSON: remove the router transformer');
  return (socket, url) => {
    const s = new Session<TContext>(socket, opts);
    (socket as Tracked)[session] = s as Session<unknown>;
    socket.on('message', onMessage);
    socket.once('close', onClose);
    // Without `?connectionParams=1` the context is made at once, from nothing.
    if (!/[?&]connectionParams=1(&|$)/.test(url)) s.start(null);
  };
}
