import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

import type { UserRole, UserStatus } from '../users/user.entity.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { type SessionEndReason, SessionEntity } from './session.entity.js';

export type LockedUser = LockedSession['user'] & { passwordHash: string };

export interface LockedSession {
  session: SessionEntity;
  user: { role: UserRole; status: UserStatus; statusUntil: Date | null };
}

/** An active session: not revoked, within its absolute expiry, used within the idle window. */
const ACTIVE = `s.revoked_at IS NULL AND s.expires_at > now() AND s.last_used_at > now() - make_interval(secs => $2)`;

function toSession(row: Record<string, unknown>): SessionEntity {
  return Object.assign(new SessionEntity(), {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    ip: row.ip,
    userAgent: row.user_agent,
  });
}

@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async create(
    manager: EntityManager,
    session: Pick<SessionEntity, 'id' | 'userId' | 'ip' | 'userAgent'>,
    absoluteTtlSeconds: number,
    refreshTokenHash: Buffer,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO sessions (id, user_id, ip, user_agent, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [session.id, session.userId, session.ip, session.userAgent, absoluteTtlSeconds],
    );
    await this.addRefreshToken(manager, session.id, refreshTokenHash);
  }

  async addRefreshToken(manager: EntityManager, sessionId: string, tokenHash: Buffer): Promise<void> {
    await manager.query('INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)', [tokenHash, sessionId]);
  }

  /**
   * Locks the session the token belongs to, then reads the token: concurrent
   * refreshes of one session are serialized, and each sees the others' writes.
   */
  async lockByRefreshToken(
    manager: EntityManager,
    tokenHash: Buffer,
  ): Promise<{ locked: LockedSession; token: RefreshTokenEntity } | undefined> {
    const [session] = (await manager.query(
      `SELECT s.*, u.role AS user_role, u.status AS user_status, u.status_until AS user_status_until
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
          FOR UPDATE OF s`,
      [tokenHash],
    )) as Record<string, unknown>[];
    if (!session) return undefined;
    const [token] = (await manager.query('SELECT * FROM refresh_tokens WHERE token_hash = $1', [tokenHash])) as Record<
      string,
      unknown
    >[];
    if (!token) return undefined;
    return {
      locked: {
        session: toSession(session),
        user: {
          role: session.user_role as UserRole,
          status: session.user_status as UserStatus,
          statusUntil: session.user_status_until as Date | null,
        },
      },
      token: Object.assign(new RefreshTokenEntity(), {
        tokenHash: token.token_hash,
        sessionId: token.session_id,
        createdAt: token.created_at,
        spentAt: token.spent_at,
        replay: token.replay,
      }),
    };
  }

  async spendRefreshToken(manager: EntityManager, tokenHash: Buffer, replay: Buffer): Promise<void> {
    await manager.query('UPDATE refresh_tokens SET spent_at = now(), replay = $2 WHERE token_hash = $1', [tokenHash, replay]);
  }

  async touch(manager: EntityManager, sessionId: string): Promise<void> {
    await manager.query('UPDATE sessions SET last_used_at = now() WHERE id = $1', [sessionId]);
  }

  /** Ends the given sessions of a user that are still open; returns the ids it ended. */
  async revoke(
    userId: string,
    reason: SessionEndReason,
    only: { sessionId?: string; exceptSessionId?: string } | undefined,
    manager: EntityManager,
  ): Promise<string[]> {
    const rows = (await manager.query(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2, revocation_mark_pending = true
        WHERE user_id = $1 AND revoked_at IS NULL
          AND ($3::uuid IS NULL OR id = $3) AND ($4::uuid IS NULL OR id <> $4)
        RETURNING id`,
      [userId, reason, only?.sessionId ?? null, only?.exceptSessionId ?? null],
    )) as [{ id: string }[], number];
    // TypeORM returns [rows, count] for UPDATE ... RETURNING on PostgreSQL.
    return rows[0].map((row) => row.id);
  }

  /**
   * Locks the user's row until the caller's transaction ends (sign-ins of one
   * user, and admin changes to them, happen one at a time) and reads what a
   * sign-in must check again under the lock.
   */
  async lockUser(manager: EntityManager, userId: string): Promise<LockedUser | undefined> {
    const [row] = (await manager.query(
      'SELECT role, status, status_until, password_hash FROM users WHERE id = $1 FOR UPDATE',
      [userId],
    )) as { role: UserRole; status: UserStatus; status_until: Date | null; password_hash: string }[];
    return row && { role: row.role, status: row.status, statusUntil: row.status_until, passwordHash: row.password_hash };
  }

  /** Ends the user's active sessions beyond the newest `keep`, oldest first; returns the ids it ended. */
  async revokeBeyondNewest(manager: EntityManager, userId: string, keep: number, idleTtlSeconds: number): Promise<string[]> {
    const [rows] = (await manager.query(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = 'session_limit', revocation_mark_pending = true
        WHERE id IN (SELECT s.id FROM sessions s WHERE s.user_id = $1 AND ${ACTIVE} ORDER BY s.created_at DESC, s.id DESC OFFSET $3)
        RETURNING id`,
      [userId, idleTtlSeconds, keep],
    )) as [{ id: string }[], number];
    return rows.map((row) => row.id);
  }

  async listActive(userId: string, idleTtlSeconds: number): Promise<SessionEntity[]> {
    const rows = (await this.dataSource.query(
      `SELECT s.* FROM sessions s WHERE s.user_id = $1 AND ${ACTIVE} ORDER BY s.last_used_at DESC`,
      [userId, idleTtlSeconds],
    )) as Record<string, unknown>[];
    return rows.map(toSession);
  }

  /**
   * Deletes sessions (and, by cascade, their refresh token hashes) that ended
   * longer ago than the retention, in batches so no single delete runs long.
   */
  async deleteEndedBefore(retentionSeconds: number, idleTtlSeconds: number, batch = 1_000): Promise<number> {
    const [, count] = (await this.dataSource.query(
      `DELETE FROM sessions WHERE id IN (
         SELECT id FROM sessions
          WHERE COALESCE(revoked_at, LEAST(expires_at, last_used_at + make_interval(secs => $2))) < now() - make_interval(secs => $1)
          LIMIT $3)`,
      [retentionSeconds, idleTtlSeconds, batch],
    )) as [unknown, number];
    return count;
  }

  async listAll(userId: string): Promise<SessionEntity[]> {
    const rows = (await this.dataSource.query('SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at DESC', [
      userId,
    ])) as Record<string, unknown>[];
    return rows.map(toSession);
  }

  /**
   * Sessions ended (by revoke or revokeBeyondNewest, which set the flag in the
   * statement that ends them) whose revocation mark may not be in Redis yet,
   * and how long that mark must still live: until every access token issued
   * before the end has expired (markTtlSeconds after it). Zero or less: all have.
   */
  async listRevocationMarksPending(markTtlSeconds: number): Promise<{ id: string; markTtlMs: number }[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, ceil(EXTRACT(EPOCH FROM revoked_at + make_interval(secs => $1) - now()) * 1000)::float8 AS mark_ttl_ms
         FROM sessions WHERE revocation_mark_pending`,
      [markTtlSeconds],
    )) as { id: string; mark_ttl_ms: number }[];
    return rows.map((row) => ({ id: row.id, markTtlMs: row.mark_ttl_ms }));
  }

  /** Once their marks are in Redis (or no longer needed). */
  async clearRevocationMarksPending(sessionIds: string[]): Promise<void> {
    await this.dataSource.query(
      'UPDATE sessions SET revocation_mark_pending = false WHERE id = ANY($1::uuid[]) AND revocation_mark_pending',
      [sessionIds],
    );
  }

  /** Whether a session can no longer be used (the database's answer, for when the cache cannot say). */
  /** Why a session no longer admits its tokens: how it ended, and its user's status now (undefined: no such session). */
  async endOf(sessionId: string): Promise<{ revokedReason: SessionEndReason | null; userStatus: UserStatus | null } | undefined> {
    const [row] = (await this.dataSource.query(
      'SELECT s.revoked_reason, u.status FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1',
      [sessionId],
    )) as { revoked_reason: SessionEndReason | null; status: UserStatus | null }[];
    return row && { revokedReason: row.revoked_reason, userStatus: row.status };
  }

  async isEnded(sessionId: string, idleTtlSeconds: number): Promise<boolean> {
    const rows = (await this.dataSource.query(`SELECT 1 FROM sessions s WHERE s.id = $1 AND ${ACTIVE}`, [
      sessionId,
      idleTtlSeconds,
    ])) as unknown[];
    return rows.length === 0;
  }
}
