import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';

import { STRICT_STORE, type StrictStore } from '../../core/cache/cache.module.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { SessionsRepository } from './sessions.repository.js';

const key = (sessionId: string) => `revoked-session:${sessionId}`;

/**
 * Makes an ended session's access tokens fail at once on every replica, with
 * one cache read per request instead of a database query. A mark lives as
 * long as the longest access token it must outlive. While the cache cannot be
 * read, the database decides; marks that could not be written are retried.
 */
@Injectable()
export class SessionRevocations implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionRevocations');
  private readonly pending = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(STRICT_STORE) private readonly store: StrictStore,
    private readonly sessions: SessionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The mark must outlive every access token already issued for the session (plus clock skew). */
  private get markTtlMs(): number {
    return (this.config.jwt.accessTtlSeconds + 60) * 1000;
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    // A mark still waiting for the cache is known here even if the cache answers again.
    if (this.pending.has(sessionId)) return true;
    try {
      return (await this.store.get(key(sessionId))) !== undefined;
    } catch {
      return this.sessions.isEnded(sessionId, this.config.session.idleTtlSeconds);
    }
  }

  async markRevoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const until = Date.now() + this.markTtlMs;
    try {
      await this.store.setMany(sessionIds.map((id) => ({ key: key(id), value: 1, ttl: this.markTtlMs })));
    } catch (error) {
      this.logger.warn(`could not mark ${sessionIds.length} ended session(s) in the cache, retrying: ${(error as Error).message}`);
      for (const id of sessionIds) this.pending.set(id, until);
      this.scheduleRetry(1_000);
    }
  }

  private scheduleRetry(delayMs: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retry(delayMs);
    }, delayMs);
    this.retryTimer.unref();
  }

  private async retry(lastDelayMs: number): Promise<void> {
    const now = Date.now();
    for (const [id, until] of this.pending) if (until <= now) this.pending.delete(id);
    const due = [...this.pending];
    if (due.length === 0) return;
    try {
      await this.store.setMany(due.map(([id, until]) => ({ key: key(id), value: 1, ttl: until - now })));
      // Marks stay pending until written, so this replica keeps refusing them meanwhile.
      for (const [id] of due) this.pending.delete(id);
    } catch {
      this.scheduleRetry(Math.min(lastDelayMs * 2, 30_000));
    }
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retryTimer);
  }
}
