import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, QueryFailedError, Repository } from 'typeorm';

import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { type Keyset, pageOf } from '../../core/http/cursors.js';
import { USER_ROLES, USER_STATUSES, UserEntity, type UserRole, type UserStatus } from './user.entity.js';
import { ADMIN_STATS_QUERY, type AdminUserFilter, adminUserSearchQuery } from './users-admin.queries.js';

export interface NewUser {
  email: string;
  passwordHash: string;
  name: string;
  mobile?: string | null;
  role?: UserRole;
  status?: UserStatus;
  emailVerified?: boolean;
}

export type UserWithPassword = UserEntity & { passwordHash: string };

export interface UserStats {
  total: number;
  byStatus: Record<UserStatus, number>;
  byRole: Record<UserRole, number>;
  verified: number;
  registeredLast24h: number;
  registeredLast7d: number;
}

/** A suspension that lapsed and was lifted: the user as now, and when the suspension had been due to end. */
export interface LiftedSuspension {
  user: UserEntity;
  reason: string | null;
  until: Date;
}

// All replicas must agree on it; only its holder lifts lapsed suspensions.
const SUSPENSION_SWEEP_LOCK_ID = 727_001_005;

/** Taken by every change that can shrink the set of active admins, so two of them cannot both pass the last-admin check. */
const ADMIN_SET_LOCK_ID = 727_001_004;

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = (error as QueryFailedError & { driverError?: { code?: string; constraint?: string } }).driverError;
  return error instanceof QueryFailedError && driverError?.code === '23505' && driverError.constraint === constraint;
}

/** RETURNING * gives column names; map them back onto the entity's properties. */
function toUser(row: Record<string, unknown>): UserEntity {
  return Object.assign(new UserEntity(), {
    id: row.id,
    email: row.email,
    name: row.name,
    mobile: row.mobile,
    role: row.role,
    status: row.status,
    statusReason: row.status_reason,
    statusUntil: row.status_until,
    emailVerified: row.email_verified,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.users.manager.transaction(work);
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<UserEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.users.findBy({ id: In(ids) });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ email });
  }

  /** The one query that loads a password hash. */
  findForPasswordCheck(where: { email: string } | { id: string }): Promise<UserWithPassword | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('email' in where ? 'user.email = :email' : 'user.id = :id', where)
      .getOne() as Promise<UserWithPassword | null>;
  }

  async lock(manager: EntityManager, id: string): Promise<UserEntity | null> {
    const [row] = (await manager.query('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id])) as Record<string, unknown>[];
    return row ? toUser(row) : null;
  }

  async insert(manager: EntityManager, user: NewUser): Promise<UserEntity> {
    try {
      const result = await manager
        .createQueryBuilder()
        .insert()
        .into(UserEntity)
        .values({ mobile: null, ...user })
        .returning('*')
        .execute();
      return toUser((result.raw as Record<string, unknown>[])[0]);
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) {
        throw new AppError(ErrorCode.EMAIL_TAKEN, 409, 'An account with this email already exists.');
      }
      throw error;
    }
  }

  /** Inserts unless the email exists; safe when many replicas do it at once. Returns the new row, if any. */
  async insertIfAbsent(manager: EntityManager, user: NewUser): Promise<UserEntity | null> {
    const result = await manager.createQueryBuilder().insert().into(UserEntity).values(user).orIgnore().returning('*').execute();
    const [row] = result.raw as Record<string, unknown>[];
    return row ? toUser(row) : null;
  }

  existsByEmail(email: string): Promise<boolean> {
    return this.users.existsBy({ email });
  }

  /** Applies the given columns (snake_case) and returns the updated row. */
  async update(manager: EntityManager, id: string, columns: Record<string, unknown>): Promise<UserEntity | null> {
    const names = Object.keys(columns);
    const [rows] = (await manager.query(
      `UPDATE users SET ${names.map((name, i) => `${name} = $${i + 2}`).join(', ')}, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id, ...names.map((name) => columns[name])],
    )) as [Record<string, unknown>[], number];
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** Serializes, until the caller's transaction ends, the changes that can take an active admin away. */
  async lockAdminSet(manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_SET_LOCK_ID]);
  }

  /** Whether this transaction may lift suspensions now (false: another replica is at it). */
  async tryLockSuspensionSweep(manager: EntityManager): Promise<boolean> {
    const [row] = (await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [SUSPENSION_SWEEP_LOCK_ID])) as { locked: boolean }[];
    return row!.locked;
  }

  async countActiveAdmins(manager: EntityManager, exceptId: string): Promise<number> {
    const [row] = (await manager.query(
      `SELECT count(*)::int AS count FROM users WHERE role = 'admin' AND status = 'active' AND id <> $1`,
      [exceptId],
    )) as { count: number }[];
    return row!.count;
  }

  /** One page of the admin search (newest first) and the keyset of the next page, if any. */
  async searchForAdmin(filter: AdminUserFilter, after: Keyset | undefined, limit: number): Promise<{ users: UserEntity[]; next?: Keyset }> {
    const { text, values } = adminUserSearchQuery(filter, after, limit);
    const { page, next } = pageOf((await this.users.manager.query(text, values)) as Record<string, unknown>[], limit);
    return { users: page.map(toUser), next };
  }

  async countByStatusAndRole(): Promise<UserStats> {
    const [row] = (await this.users.manager.query(ADMIN_STATS_QUERY.text, ADMIN_STATS_QUERY.values)) as {
      counts: { status: UserStatus; role: UserRole; verified: boolean; count: number }[];
      last_24h: string;
      last_7d: string;
    }[];
    const stats: UserStats = {
      total: 0,
      byStatus: Object.fromEntries(USER_STATUSES.map((status) => [status, 0])) as Record<UserStatus, number>,
      byRole: Object.fromEntries(USER_ROLES.map((role) => [role, 0])) as Record<UserRole, number>,
      verified: 0,
      registeredLast24h: Number(row!.last_24h),
      registeredLast7d: Number(row!.last_7d),
    };
    for (const { status, role, verified, count } of row!.counts) {
      stats.total += count;
      stats.byStatus[status] += count;
      stats.byRole[role] += count;
      if (verified) stats.verified += count;
    }
    return stats;
  }

  /**
   * Sets lapsed suspensions back to active (of one user, or the next batch of
   * anyone's), skipping rows another transaction holds.
   */
  async liftLapsedSuspensions(manager: EntityManager, scope: { userId: string } | { limit: number }): Promise<LiftedSuspension[]> {
    const byUser = 'userId' in scope;
    const [rows] = (await manager.query(
      `WITH lapsed AS (
         SELECT id, status_reason, status_until FROM users
          WHERE status = 'suspended' AND status_until <= now() ${byUser ? 'AND id = $1' : ''}
          ORDER BY status_until LIMIT $${byUser ? 2 : 1}
            FOR UPDATE SKIP LOCKED)
       UPDATE users u SET status = 'active', status_reason = NULL, status_until = NULL, updated_at = now()
         FROM lapsed WHERE u.id = lapsed.id
       RETURNING u.*, lapsed.status_reason AS lapsed_reason, lapsed.status_until AS lapsed_until`,
      byUser ? [scope.userId, 1] : [scope.limit],
    )) as [Record<string, unknown>[], number];
    return rows.map((row) => ({ user: toUser(row), reason: row.lapsed_reason as string | null, until: row.lapsed_until as Date }));
  }

  /** The same password under a new hash (the cost changed). */
  async updatePasswordHash(manager: EntityManager, id: string, passwordHash: string): Promise<void> {
    await manager.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
  }

  /**
   * A new password, unless `replacing` is given and is no longer the stored
   * hash (false then). Every reset link still unused stops working with the
   * password it was meant to replace.
   */
  async replacePassword(manager: EntityManager, id: string, passwordHash: string, replacing?: string): Promise<boolean> {
    const changed = (await manager.query(
      `WITH changed AS (
         UPDATE users SET password_hash = $2 WHERE id = $1 AND ($3::text IS NULL OR password_hash = $3) RETURNING id),
       voided AS (
         DELETE FROM user_tokens WHERE user_id IN (SELECT id FROM changed) AND purpose = 'password_reset' AND used_at IS NULL)
       SELECT id FROM changed`,
      [id, passwordHash, replacing ?? null],
    )) as unknown[];
    return changed.length > 0;
  }
}
