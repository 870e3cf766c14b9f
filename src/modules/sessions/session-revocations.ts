import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';

import { CacheService } from '../../core/cache/cache.service.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { SessionsRepository } from './sessions.repository.js';

const key = (sessionId: string) => `revoked-session:${sessionId}`;

/** How often every replica loads the sessions whose marks may be missing from Redis. */
export const SYNC_INTERVAL_MS = 1_000;
/**
 * A replica whose last successful load started longer ago than this may be
 * missing pending sessions, so the database decides. Two intervals leave one
 * for the load itself (loads are sequential: the next starts an interval after
 * the last one ended).
 */
export const SYNC_STALE_AFTER_MS = 2 * SYNC_INTERVAL_MS + 500;
/**
 * How long a writer whose marks did not reach Redis waits before answering.
 * At least SYNC_STALE_AFTER_MS: by then each replica has either loaded the
 * pending rows (a load that started after the commit) or gone stale (its last
 * load started before it), and so asks the database; a margin for timers.
 */
export const UNSTORED_MARK_WAIT_MS = SYNC_STALE_AFTER_MS + 250;
/** A Redis that accepts the connection but never answers must not hold up a check, a sign-out or the sync. */
const REDIS_TIMEOUT_MS = 1_000;
/** The most shutdown waits for a load or write in flight (so it does not run on a closed pool). */
const SHUTDOWN_WAIT_MS = 2_000;

/** Whether a token's session has ended cannot be told (neither Redis nor the database answers): never a 401. */
export const revocationUnknown = () =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, 'The service is temporarily unavailable.', undefined, 2);

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Makes an ended session's access tokens fail at once on every replica, with
 * one cache read per request instead of a database query.
 *
 * The statement that ends a session also flags it `revocation_mark_pending`,
 * so the database knows which marks may be missing from Redis, whatever
 * happens to the writer afterwards. Every replica loads the flagged sessions
 * every second (and refuses their tokens from memory), writes their marks to
 * Redis and clears the flags once stored. The writer stores the marks before it
 * answers; when that fails it answers only after every replica has loaded them
 * (UNSTORED_MARK_WAIT_MS). A replica whose loads stopped succeeding, or that
 * cannot read Redis, asks the database; when that cannot answer either, the
 * request is refused with a 503 (not a 401, which would make the client
 * discard a valid token).
 */
@Injectable()
export class SessionRevocations implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SessionRevocations');
  /** Sessions known ended whose marks may not be in Redis → when (performance.now()) their last token expires. */
  private readonly pending = new Map<string, number>();
  /** performance.now() when the last successful load started: it saw every commit before that. */
  private lastSyncStartedAt: number | undefined;
  private syncFailing = false;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private storing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly cache: CacheService,
    private readonly sessions: SessionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A mark outlives every access token already issued for the session (plus clock skew). */
  private get markTtlSeconds(): number {
    return this.config.jwt.accessTtlSeconds + 60;
  }

  /** After every onModuleInit, so after the migrations (which add the flag); before the app listens. */
  async onApplicationBootstrap(): Promise<void> {
    this.stopped = false;
    await this.runSync();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const inFlight = [this.syncing, this.storing].filter((work) => work !== undefined);
    if (inFlight.length) await within(SHUTDOWN_WAIT_MS, Promise.all(inFlight)).catch(() => undefined);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.pending.has(sessionId)) return true;
    const fresh = this.lastSyncStartedAt !== undefined && performance.now() - this.lastSyncStartedAt < SYNC_STALE_AFTER_MS;
    try {
      const marked = (await within(REDIS_TIMEOUT_MS, this.cache.strictGet(key(sessionId)))) !== undefined;
      // Without a mark, "not revoked" holds only if this replica knows every pending session.
      if (marked || fresh) return marked;
    } catch {
      // Redis cannot say: the database decides.
    }
    try {
      return await this.sessions.isEnded(sessionId, this.config.session.idleTtlSeconds);
    } catch {
      throw revocationUnknown();
    }
  }

  /**
   * After the commit that ended the sessions: resolves once every replica
   * refuses their tokens (never rejects; the database already holds the end).
   */
  async markRevoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttlMs = this.markTtlSeconds * 1000;
    try {
      await within(REDIS_TIMEOUT_MS, this.cache.strictSet(sessionIds.map((id) => ({ key: key(id), value: 1, ttlMs }))));
    } catch (error) {
      const expiresAt = performance.now() + ttlMs;
      for (const id of sessionIds) this.pending.set(id, expiresAt);
      this.logger.warn(
        `revocation marks for ${sessionIds.length} session(s) not stored in Redis (${message(error)}); every replica takes them from the database`,
      );
      await sleep(UNSTORED_MARK_WAIT_MS);
      return;
    }
    // Stored: the flag has done its work (if this fails, the next sync clears it).
    await this.sessions.clearRevocationMarksPending(sessionIds).catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.runSync(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  private async runSync(): Promise<void> {
    this.syncing = this.sync().finally(() => (this.syncing = undefined));
    await this.syncing;
    this.schedule();
  }

  /** Loads the pending sessions, then (in the background, one batch at a time) stores their marks and clears their flags. */
  private async sync(): Promise<void> {
    const startedAt = performance.now();
    let rows: { id: string; markTtlMs: number }[];
    try {
      rows = await this.sessions.listRevocationMarksPending(this.markTtlSeconds);
    } catch (error) {
      if (!this.syncFailing) this.logger.warn(`cannot load pending revocation marks (${message(error)}); the database decides meanwhile`);
      this.syncFailing = true;
      return;
    }
    if (this.syncFailing) this.logger.log('pending revocation marks load again');
    this.syncFailing = false;
    const now = performance.now();
    for (const { id, markTtlMs } of rows) if (markTtlMs > 0) this.pending.set(id, now + markTtlMs);
    this.lastSyncStartedAt = startedAt;
    for (const [id, expiresAt] of this.pending) if (expiresAt <= now) this.pending.delete(id);
    if (rows.length && !this.storing && !this.stopped) this.storing = this.store(rows).finally(() => (this.storing = undefined));
  }

  private async store(rows: { id: string; markTtlMs: number }[]): Promise<void> {
    // Every token of an expired one is expired too: nothing to store.
    const done = rows.filter(({ markTtlMs }) => markTtlMs <= 0).map(({ id }) => id);
    const live = rows.filter(({ markTtlMs }) => markTtlMs > 0);
    if (live.length) {
      try {
        await within(REDIS_TIMEOUT_MS, this.cache.strictSet(live.map(({ id, markTtlMs }) => ({ key: key(id), value: 1, ttlMs: markTtlMs }))));
        done.push(...live.map(({ id }) => id));
      } catch {
        // Redis is away: the flags stay, and every replica keeps refusing from memory.
      }
    }
    if (done.length) await this.sessions.clearRevocationMarksPending(done).catch(() => undefined);
  }
}
