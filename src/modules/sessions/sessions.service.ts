import { randomUUID } from 'node:crypto';

import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { accountStatusError } from '../auth/account-status.js';
import { AuthEvents } from '../auth/auth.events.js';
import type { ClientInfo } from '../../core/http/client-info.js';
import { type SessionResponse, type TokensResponse, toSessionResponse } from '../auth/dto/auth.response.js';
import type { UserRole } from '../users/user.entity.js';
import type { SessionEndReason, SessionEntity } from './session.entity.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsRepository } from './sessions.repository.js';
import { TokensService } from './tokens.service.js';

const sessionEnded = () => new AppError(ErrorCode.UNAUTHENTICATED, 401, 'The refresh token is invalid or its session has ended.');

type RefreshOutcome = { tokens: TokensResponse } | { reusedInSession: string };

/** Ended sessions stay listed in exports for this long, then are deleted. */
const ENDED_SESSION_RETENTION_SECONDS = 30 * 86_400;

export interface SessionScope {
  sessionId?: string;
  exceptSessionId?: string;
}

@Injectable()
export class SessionsService implements OnModuleInit, OnApplicationShutdown {
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly tokens: TokensService,
    private readonly revocations: SessionRevocations,
    private readonly events: EventPublisher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.pruneEnded().catch(() => undefined), 3_600_000);
    this.pruneTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pruneTimer);
  }

  /** Deletes sessions that ended over the retention period ago; returns how many. */
  async pruneEnded(): Promise<number> {
    let total = 0;
    let deleted: number;
    do {
      deleted = await this.sessions.deleteEndedBefore(ENDED_SESSION_RETENTION_SECONDS, this.config.session.idleTtlSeconds);
      total += deleted;
    } while (deleted > 0);
    return total;
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.sessions.transaction(work);
  }

  /** Opens a session in the caller's transaction and returns its first tokens. */
  async start(manager: EntityManager, user: { id: string; role: string }, client: ClientInfo): Promise<TokensResponse> {
    // The id is chosen here because the access token names its session.
    const sessionId = randomUUID();
    const issued = await this.tokens.issue(user, sessionId);
    await this.sessions.create(
      manager,
      { id: sessionId, userId: user.id, ip: client.ip, userAgent: client.userAgent },
      this.config.session.absoluteTtlSeconds,
      issued.refreshTokenHash,
    );
    return issued.tokens;
  }

  /**
   * Signs a user in whose password was checked against `checkedPasswordHash`:
   * under a lock on the user's row, makes sure the password is still that one
   * (a reset or change may have committed during the check; then it answers
   * undefined) and checks the account again (an admin may have blocked it),
   * runs `withinLock` (a re-hash), issues the tokens with the role as it is
   * now, and ends the oldest sessions beyond MAX_SESSIONS_PER_USER (race-free:
   * concurrent sign-ins of one user take turns).
   */
  async signIn(
    userId: string,
    client: ClientInfo,
    checkedPasswordHash: string,
    withinLock?: (manager: EntityManager) => Promise<void>,
  ): Promise<{ tokens: TokensResponse; role: UserRole } | undefined> {
    const signedIn = await this.sessions.transaction(async (manager) => {
      const user = await this.sessions.lockUser(manager, userId);
      if (!user || user.passwordHash !== checkedPasswordHash) return undefined;
      const statusError = accountStatusError(user);
      if (statusError) throw statusError;
      await withinLock?.(manager);
      const limit = this.config.session.maxPerUser;
      const beyond = await this.sessions.revokeBeyondNewest(manager, userId, limit - 1, this.config.session.idleTtlSeconds);
      await this.recordRevoked(manager, userId, beyond, 'session_limit');
      return { tokens: await this.start(manager, { id: userId, role: user.role }, client), role: user.role, ended: beyond };
    });
    if (!signedIn) return undefined;
    await this.refuseAccessTokens(signedIn.ended);
    return { tokens: signedIn.tokens, role: signedIn.role };
  }

  /**
   * Rotates a refresh token. A token spent within the grace window gets the
   * answer its first use got; spent before that, it ends the whole session.
   */
  async refresh(refreshToken: string): Promise<TokensResponse> {
    const hash = TokensService.hash(refreshToken);
    const outcome = await this.sessions.transaction(async (manager): Promise<RefreshOutcome> => {
      const found = await this.sessions.lockByRefreshToken(manager, hash);
      if (!found) throw sessionEnded();
      const { locked, token } = found;
      const { session, user } = locked;
      const now = Date.now();
      const idleDeadline = session.lastUsedAt.getTime() + this.config.session.idleTtlSeconds * 1000;
      if (session.revokedAt || session.expiresAt.getTime() <= now || idleDeadline <= now) throw sessionEnded();

      if (token.spentAt) {
        const withinGrace = now - token.spentAt.getTime() <= this.config.session.refreshReuseGraceSeconds * 1000;
        const replay = withinGrace && token.replay ? TokensService.openReplay(refreshToken, token.replay) : undefined;
        if (replay) return { tokens: replay };
        await this.endWithin(manager, session.userId, 'refresh_token_reuse', { sessionId: session.id });
        return { reusedInSession: session.id };
      }

      const statusError = accountStatusError(user);
      if (statusError) throw statusError;
      const issued = await this.tokens.issue({ id: session.userId, role: user.role }, session.id);
      await this.sessions.addRefreshToken(manager, session.id, issued.refreshTokenHash);
      await this.sessions.spendRefreshToken(manager, hash, TokensService.sealReplay(refreshToken, issued.tokens));
      await this.sessions.touch(manager, session.id);
      return { tokens: issued.tokens };
    });

    if ('reusedInSession' in outcome) {
      // Committed before failing the request, so the session stays ended.
      await this.refuseAccessTokens([outcome.reusedInSession]);
      throw new AppError(ErrorCode.REFRESH_TOKEN_REUSED, 401, 'This refresh token was already used; the session has been ended.');
    }
    return outcome.tokens;
  }

  async list(user: AuthUser): Promise<SessionResponse[]> {
    const sessions = await this.sessions.listActive(user.userId, this.config.session.idleTtlSeconds);
    return sessions.map((session) => toSessionResponse(session, user.sessionId));
  }

  /** Every session the user has (ended ones too, within retention), newest first: for exports. */
  listAll(userId: string): Promise<SessionEntity[]> {
    return this.sessions.listAll(userId);
  }

  /** Ends one of the user's own sessions; anyone else's id is a 404. */
  async revokeOwn(user: AuthUser, sessionId: string): Promise<void> {
    const ended = await this.end(user.userId, 'user_revoked', { sessionId });
    if (ended.length === 0) throw new AppError(ErrorCode.SESSION_NOT_FOUND, 404, 'No such session.');
  }

  /** Ends sessions in a transaction of its own, and makes their access tokens fail at once. */
  async end(userId: string, reason: SessionEndReason, scope?: SessionScope): Promise<string[]> {
    const ended = await this.sessions.transaction((manager) => this.endWithin(manager, userId, reason, scope));
    await this.refuseAccessTokens(ended);
    return ended;
  }

  /**
   * Ends sessions inside the caller's transaction and records session.revoked
   * for each. The caller must pass the ids to refuseAccessTokens() after commit.
   */
  async endWithin(manager: EntityManager, userId: string, reason: SessionEndReason, scope?: SessionScope): Promise<string[]> {
    const ended = await this.sessions.revoke(userId, reason, scope, manager);
    await this.recordRevoked(manager, userId, ended, reason);
    return ended;
  }

  /** Active sessions of any user, newest use first: for admins. */
  listActiveOf(userId: string): Promise<SessionEntity[]> {
    return this.sessions.listActive(userId, this.config.session.idleTtlSeconds);
  }

  private async recordRevoked(manager: EntityManager, userId: string, sessionIds: string[], reason: SessionEndReason): Promise<void> {
    // No access token of these sessions outlives this moment plus one token lifetime.
    const accessTokensExpireBy = new Date(Date.now() + this.config.jwt.accessTtlSeconds * 1000);
    await this.events.record(manager, ...sessionIds.map((id) => AuthEvents.sessionRevoked(userId, id, reason, accessTokensExpireBy)));
  }

  refuseAccessTokens(sessionIds: string[]): Promise<void> {
    return this.revocations.markRevoked(sessionIds);
  }
}
