import { Worker } from 'node:worker_threads';

/** What a statement returns (the part of PGlite's `Results` Drizzle and Sohbet read). */
export interface Results<T = Record<string, unknown>> {
  rows: T[];
  fields: { name: string; dataTypeID: number }[];
  affectedRows?: number;
}
type Parsers = Record<number, (value: string, typeId: number) => unknown>;
export interface QueryOptions {
  rowMode?: 'array' | 'object';
  parsers?: Parsers;
}
/** The statements of one open transaction (PGlite's `Transaction`, as Drizzle's driver uses it). */
export interface TransactionClient {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
  rollback(): Promise<void>;
  readonly closed: boolean;
}

type Reply = { id: number; result?: unknown; error?: Record<string, unknown> };
type Request = { op: 'query' | 'exec' | 'begin' | 'commit' | 'rollback' | 'close'; sql?: string; params?: unknown[]; rowMode?: string; textTypes?: number[]; tx?: number };

const CLOSE_GRACE_MS = 5000;

/** A rolled-back transaction's callback result is discarded; this marks `rollback()` called inside it. */
class RolledBack extends Error {}

/**
 * The embedded database (PGlite) in a worker thread, with the query / exec / transaction surface
 * Drizzle's PGlite driver calls. PGlite runs each statement synchronously in WASM and writes its
 * data directory with synchronous file calls; on the server's thread that held the event loop
 * for every statement (10–30 ms for a periodic sweep) and for whatever the disk made those writes
 * wait (≈ 30 ms behind other processes' fsyncs). In the worker the loop only posts and receives
 * messages. Semantics are PGlite's own: one statement or one transaction at a time, in arrival
 * order; a statement outside an open transaction waits for it to end.
 */
export class PGliteWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;
  readonly waitReady: Promise<void>;

  private closing = false;
  private closed: Promise<void> | null = null;

  /**
   * `onDeath` runs when the worker stops without close() (out of memory, a WASM abort): every call
   * fails from then on, so the server should exit and be restarted rather than look healthy.
   */
  constructor(dir: string | null, private readonly onDeath?: (err: Error) => void) {
    this.worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), { workerData: { dir } });
    this.waitReady = new Promise<void>((resolve, reject) => {
      const onReady = (msg: { ready?: boolean; error?: Record<string, unknown> }) => {
        if (msg.ready === undefined) return;
        this.worker.off('message', onReady);
        if (msg.ready) resolve();
        else reject(toError(msg.error!));
      };
      this.worker.on('message', onReady);
      this.worker.once('exit', (code) => reject(new Error(`embedded database worker exited (code ${code}) before it was ready`)));
    });
    this.waitReady.catch(() => {}); // the caller awaits it; a failure is also reported per call
    this.worker.on('message', (msg: Reply) => {
      if (msg.id === undefined) return;
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      if (msg.error) call.reject(toError(msg.error));
      else call.resolve(msg.result);
    });
    const fail = (err: Error) => {
      if (this.failure) return;
      this.failure = err;
      for (const call of this.pending.values()) call.reject(err);
      this.pending.clear();
      if (!this.closing) this.onDeath?.(err);
    };
    this.worker.on('error', (err) => fail(new Error(`embedded database worker failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => fail(new Error(`embedded database worker exited (code ${code})`)));
  }

  private call<T>(req: Request): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.worker.postMessage({ ...req, id }); // throws (DataCloneError) before anything is pending
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private async statement<T>(tx: number | undefined, sql: string, params: unknown[] | undefined, options: QueryOptions | undefined): Promise<Results<T>> {
    const parsers = options?.parsers;
    // Parsers are functions (they cannot cross threads): the worker leaves those types as text
    // and they run here.
    const textTypes = parsers ? Object.keys(parsers).map(Number) : undefined;
    const result = await this.call<Results<T>>({ op: 'query', sql, params: params ?? [], rowMode: options?.rowMode, textTypes, tx });
    if (parsers) applyParsers(result, parsers, options?.rowMode === 'array');
    return result;
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.statement<T>(undefined, sql, params, options);
  }

  exec(sql: string): Promise<Results[]> {
    return this.call<Results[]>({ op: 'exec', sql });
  }

  /** Commits when `callback` resolves, rolls back when it throws (or calls `tx.rollback()`). */
  async transaction<T>(callback: (tx: TransactionClient) => Promise<T>): Promise<T> {
    const id = await this.call<number>({ op: 'begin' });
    let closed = false;
    const open = () => {
      if (closed) throw new Error('transaction is closed');
    };
    const tx: TransactionClient = {
      query: async <R>(sql: string, params?: unknown[], options?: QueryOptions) => (open(), this.statement<R>(id, sql, params, options)),
      exec: async (sql: string) => (open(), this.call<Results[]>({ op: 'exec', sql, tx: id })),
      rollback: async () => {
        open();
        throw new RolledBack('transaction rolled back');
      },
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await callback(tx);
    } catch (err) {
      closed = true;
      await this.call({ op: 'rollback', tx: id }).catch(() => {});
      if (err instanceof RolledBack) return undefined as T;
      throw err;
    }
    closed = true;
    await this.call({ op: 'commit', tx: id });
    return result;
  }

  /** Closes the database (after the statements before it) and stops the worker; safe to call twice. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      try {
        // PGlite's close waits for its lock: work still holding it (a transaction whose caller
        // never finishes) would keep it waiting forever. Committed work is in the WAL either way
        // (the next open recovers, as after kill -9), so after a grace the worker is stopped.
        if (!this.failure) {
          let timer: NodeJS.Timeout | undefined;
          const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CLOSE_GRACE_MS)));
          const r = await Promise.race([this.call({ op: 'close' }), grace]);
          clearTimeout(timer);
          if (r === 'timeout') process.emitWarning(`embedded database: close waited ${CLOSE_GRACE_MS} ms for work still holding it; stopping its thread`);
        }
      } finally {
        await this.worker.terminate();
      }
    })();
    return this.closed;
  }
}

function applyParsers(result: Results<unknown>, parsers: Parsers, arrayMode: boolean): void {
  result.fields.forEach((field, i) => {
    const parse = parsers[field.dataTypeID];
    if (!parse) return;
    const key = arrayMode ? i : field.name;
    for (const row of result.rows as Record<string | number, unknown>[]) {
      const v = row[key];
      if (v !== null && v !== undefined) row[key] = parse(v as string, field.dataTypeID);
    }
  });
}

/** The worker's error back as an Error with Postgres' fields (code, detail, constraint, …). */
function toError(data: Record<string, unknown>): Error {
  const err = new Error(String(data.message ?? 'embedded database error'));
  Object.assign(err, data);
  err.stack = `${err.name}: ${err.message}\n    at the embedded database worker${typeof data.stack === 'string' ? `\n${data.stack.split('\n').slice(1).join('\n')}` : ''}`;
  return err;
}
