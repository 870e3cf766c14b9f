import { Inject, Injectable } from '@nestjs/common';

import { CacheService } from '../../core/cache/cache.service.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { SessionsRepository } from './sessions.repository.js';

const key = (sessionId: string) => `revoked-session:${sessionId}`;

/**
 * Makes an ended session's access tokens fail at once on every replica, with
 * one cache read per request instead of a database query. A mark lives as
 * long as the longest access token it must outlive. While the cache cannot be
 * read, the database decides; marks that could not be written are retried
 * (and honoured by this replica meanwhile).
 */
@Injectable()
export class SessionRevocations {
  constructor(
    private readonly cache: CacheService,
    private readonly sessions: SessionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async isRevoked(sessionId: string): Promise<boolean> {
    try {
      return (await this.cache.strictGet(key(sessionId))) !== undefined;
    } catch {
      return this.sessions.isEnded(sessionId, this.config.session.idleTtlSeconds);
    }
  }

  markRevoked(sessionIds: string[]): Promise<void> {
    // The mark must outlive every access token already issued for the session (plus clock skew).
    const ttlMs = (this.config.jwt.accessTtlSeconds + 60) * 1000;
    return this.cache.setReliably(sessionIds.map((id) => ({ key: key(id), value: 1, ttlMs })));
  }
}
