/**
 * Where the SDK keeps what must survive an app restart (the event cursor, the outbox).
 * Pass an object with `get`/`set` (sync or async, e.g. AsyncStorage wrapped, MMKV), or a
 * Web Storage such as `localStorage`.
 */
export interface KeyValueStorage {
  get(key: string): Promise<string | null> | string | null;
  set(key: string, value: string): Promise<void> | void;
}

/** The Web Storage shape (`localStorage`, `sessionStorage`), accepted as-is. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** Accepts either storage shape and returns the `get`/`set` one. */
export function asKeyValueStorage(s: KeyValueStorage | WebStorageLike | undefined): KeyValueStorage | null {
  if (!s) return null;
  if ('get' in s && typeof s.get === 'function') return s as KeyValueStorage;
  const web = s as WebStorageLike;
  return { get: (k) => web.getItem(k), set: (k, v) => web.setItem(k, v) };
}

/**
 * One persisted string value. Writes are serialized and coalesced: while a write is running,
 * only the newest value is written next, so a slow async storage never reorders or piles up.
 */
export class PersistedValue {
  private pending: string | null = null;
  private writing: Promise<void> | null = null;

  /** Without a storage, `load()` yields null and `save()` does nothing. */
  constructor(
    private readonly storage: KeyValueStorage | null,
    readonly key: string,
  ) {}

  /** Reads the stored value (null when absent, unreadable or without storage). */
  async load(): Promise<string | null> {
    if (!this.storage) return null;
    try {
      return (await this.storage.get(this.key)) ?? null;
    } catch {
      return null;
    }
  }

  /** Schedules a write of `value`; resolves when it (or a newer value) is stored. */
  save(value: string): Promise<void> {
    if (!this.storage) return Promise.resolve();
    this.pending = value;
    this.writing ??= this.drain();
    return this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== null) {
        const v = this.pending;
        this.pending = null;
        try {
          await this.storage!.set(this.key, v);
        } catch {
          // Storage full or unavailable: the in-memory state stays authoritative.
        }
      }
    } finally {
      this.writing = null;
    }
  }
}
