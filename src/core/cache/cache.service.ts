import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';

import { CACHE, type Cache, STRICT_STORE, type StrictStore } from './cache.tokens.js';

type PendingWrite = { kind: 'set'; value: unknown; expiresAt: number } | { kind: 'delete' };

/**
 * Reads through the cache (a cache failure is a miss: the loader answers), and
 * writes that must not be lost: a write or invalidation that fails is kept
 * here and retried until Redis takes it, and meanwhile this replica reads
 * around the stale key.
 */
@Injectable()
export class CacheService implements OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly pending = new Map<string, PendingWrite>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 1_000;

  constructor(
    @Inject(STRICT_STORE) private readonly store: StrictStore,
    @Inject(CACHE) private readonly cache: Cache,
  ) {}

  /** The cached value, or load() (then cached for ttlMs; concurrent misses share one load). */
  read<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    if (this.pending.has(key)) return load();
    return this.cache.wrap(key, load, ttlMs);
  }

  /**
   * The cached value of each key (in key order), with every miss loaded in one
   * call and cached for ttlMs; a key the loader has no value for stays undefined.
   */
  async readMany<T>(keys: string[], ttlMs: number, loadMissing: (keys: string[]) => Promise<Map<string, T>>): Promise<(T | undefined)[]> {
    const cached = await this.cache.mget<T>(keys.filter((key) => !this.pending.has(key)));
    const values = new Map<string, T>();
    keys.filter((key) => !this.pending.has(key)).forEach((key, i) => {
      if (cached[i] !== undefined && cached[i] !== null) values.set(key, cached[i]);
    });
    const missing = [...new Set(keys.filter((key) => !values.has(key)))];
    if (missing.length > 0) {
      const loaded = await loadMissing(missing);
      const fresh = [...loaded].filter(([key]) => !this.pending.has(key));
      // Not cached is only slower: the answer stands.
      if (fresh.length > 0) await this.cache.mset(fresh.map(([key, value]) => ({ key, value, ttl: ttlMs }))).catch(() => undefined);
      for (const [key, value] of loaded) values.set(key, value);
    }
    return keys.map((key) => values.get(key));
  }

  /** Throws when the cache cannot answer, so the caller can ask the source of truth. */
  async strictGet(key: string): Promise<unknown> {
    const pending = this.pending.get(key);
    if (pending) return pending.kind === 'set' ? pending.value : undefined;
    return this.store.get(key);
  }

  /**
   * Writes now or throws, keeping nothing: for callers that keep their own
   * durable record of what must still be written (session revocation marks).
   */
  async strictSet(entries: { key: string; value: unknown; ttlMs: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const written: unknown = await this.store.setMany(entries.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs })));
    if (Array.isArray(written) && written.includes(false)) throw new Error('the store did not take every entry');
    for (const { key } of entries) this.pending.delete(key);
  }

  async setReliably(entries: { key: string; value: unknown; ttlMs: number }[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.store.setMany(entries.map(({ key, value, ttlMs }) => ({ key, value, ttl: ttlMs })));
      // A newer write supersedes any older one still waiting for a retry.
      for (const { key } of entries) this.pending.delete(key);
    } catch (error) {
      this.defer(error, entries.map(({ key, value, ttlMs }) => [key, { kind: 'set', value, expiresAt: Date.now() + ttlMs }]));
    }
  }

  async invalidate(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.store.deleteMany(keys);
      for (const key of keys) this.pending.delete(key);
    } catch (error) {
      this.defer(error, keys.map((key) => [key, { kind: 'delete' }]));
    }
  }

  private defer(error: unknown, writes: [string, PendingWrite][]): void {
    this.logger.warn(`cache write failed for ${writes.length} key(s), retrying: ${(error as Error).message}`);
    for (const [key, write] of writes) this.pending.set(key, write);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry();
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    const now = Date.now();
    const attempt = [...this.pending].filter(([key, write]) => {
      if (write.kind === 'set' && write.expiresAt <= now) this.pending.delete(key);
      return write.kind === 'delete' || write.expiresAt > now;
    });
    const sets = attempt.flatMap(([key, write]) =>
      write.kind === 'set' ? [{ key, value: write.value, ttl: write.expiresAt - now }] : [],
    );
    const deletes = attempt.flatMap(([key, write]) => (write.kind === 'delete' ? [key] : []));
    try {
      if (sets.length) await this.store.setMany(sets);
      if (deletes.length) await this.store.deleteMany(deletes);
      // Only now (until written, this replica answers from the pending writes), and only
      // the writes sent: one deferred again meanwhile stays for the next retry.
      for (const [key, write] of attempt) if (this.pending.get(key) === write) this.pending.delete(key);
      this.retryDelayMs = 1_000;
    } catch {
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
      this.scheduleRetry();
    }
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retryTimer);
  }
}
