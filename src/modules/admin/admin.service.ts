import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { PasswordHasher } from '../../core/auth/password-hasher.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { Cursors } from '../../core/http/cursors.js';
import { IdempotencyService, type StoredResponse } from '../../core/idempotency/idempotency.service.js';
import { type AuditActor, AuditService } from '../audit/audit.service.js';
import { AccountRecoveryService } from '../auth/account-recovery.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { UserEntity, UserRole } from '../users/user.entity.js';
import { keysetShapeOf, NEWEST_FIRST } from '../users/users-admin.queries.js';
import { UsersService } from '../users/users.service.js';
import type { AdminUserQuery, AuditLogQuery, ChangeRoleDto, ChangeStatusDto, CreateUserDto } from './dto/admin.dto.js';
import {
  type AdminSessionResponse,
  type AdminUserPage,
  type AdminUserResponse,
  type AuditLogPage,
  toAdminSessionResponse,
  toAdminUserResponse,
  toAuditEntryResponse,
  type UserStatsResponse,
} from './dto/admin.response.js';

const notFound = () => new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');
const fieldError = (field: string, message: string) =>
  new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The request has invalid fields.', [{ field, message }]);
const selfChange = (what: string) => new AppError(ErrorCode.SELF_CHANGE_FORBIDDEN, 409, `You cannot ${what} your own account.`);
const lastAdmin = () =>
  new AppError(ErrorCode.LAST_ADMIN, 409, 'This is the last active admin; promote or reactivate another admin first.');

/** What the status and role a change is about looked like, for the audit log. */
const statusFields = (user: Pick<UserEntity, 'status' | 'statusReason' | 'statusUntil'>) => ({
  status: user.status,
  statusReason: user.statusReason,
  statusUntil: user.statusUntil?.toISOString() ?? null,
});

/** The result of a change: the user after it, and the sessions whose access tokens must fail once it is committed. */
interface Changed {
  user: UserEntity;
  endedSessions: string[];
}

/**
 * The rules of administration: reasons, self-protection, the last admin, and
 * one transaction per change holding the change, its events (outbox) and its
 * audit entry.
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly recovery: AccountRecoveryService,
    private readonly hasher: PasswordHasher,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: Cursors,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async listUsers(query: AdminUserQuery): Promise<AdminUserPage> {
    const { limit, cursor, ...filter } = query;
    // The filters are part of the cursor's scope: a cursor of one search cannot page another.
    const scope = `admin-users\n${filter.status ?? ''}\n${filter.role ?? ''}\n${filter.q ?? ''}`;
    const after = this.cursors.decode(scope, keysetShapeOf(filter), cursor);
    const { users, next } = await this.users.searchForAdmin(filter, after, limit);
    return { data: users.map(toAdminUserResponse), meta: { limit, nextCursor: next ? this.cursors.encode(scope, next) : null } };
  }

  async getUser(id: string): Promise<AdminUserResponse> {
    const user = await this.users.findById(id);
    if (!user) throw notFound();
    return toAdminUserResponse(user);
  }

  stats(): Promise<UserStatsResponse> {
    return this.users.stats();
  }

  async auditLog(query: AuditLogQuery): Promise<AuditLogPage> {
    const { limit, cursor, ...filter } = query;
    const scope = `audit-log\n${filter.actorId ?? ''}\n${filter.targetId ?? ''}\n${filter.action ?? ''}`;
    const { entries, next } = await this.audit.list(filter, this.cursors.decode(scope, NEWEST_FIRST, cursor), limit);
    return { data: entries.map(toAuditEntryResponse), meta: { limit, nextCursor: next ? this.cursors.encode(scope, next) : null } };
  }

  /**
   * Creates an account (with an Idempotency-Key, exactly once). Created by an
   * admin it is active and gets a verification mail; created by an operator
   * (CLI) it is verified already, like the bootstrap admin.
   */
  async createUser(actor: AuditActor, dto: CreateUserDto, idempotencyKey?: string): Promise<StoredResponse<AdminUserResponse>> {
    // Per admin: keys of different admins never meet.
    const request = IdempotencyService.request(`POST /admin/users ${actorKey(actor)}`, idempotencyKey, dto);
    const passwordHash = await this.hasher.hash(dto.password);
    const byOperator = actor.type === 'cli';

    return this.users.transaction((manager) =>
      this.idempotency.once(manager, request, async () => {
        const user = await this.users.create(manager, {
          email: dto.email,
          passwordHash,
          name: dto.name,
          mobile: dto.mobile ?? null,
          role: dto.role,
          emailVerified: byOperator,
        });
        if (!byOperator) await this.recovery.requestVerification(manager, user);
        await this.audit.record(manager, {
          actor,
          action: 'user.created',
          targetId: user.id,
          after: { email: user.email, name: user.name, role: user.role, status: user.status, emailVerified: user.emailVerified },
        });
        return { status: 201, body: toAdminUserResponse(user) };
      }),
    );
  }

  /**
   * Blocks, suspends or reactivates. Blocking and suspending end every
   * session; their access tokens fail on every replica before this answers.
   */
  async setStatus(actor: AuditActor, id: string, dto: ChangeStatusDto): Promise<AdminUserResponse> {
    const until = this.suspensionEnd(dto);
    if (actor.type === 'user' && actor.id === id && dto.status !== 'active') {
      throw selfChange(dto.status === 'blocked' ? 'block' : 'suspend');
    }
    const changed = await this.change(async (manager) => {
      // Taken first by every change that can take an admin away, so last-admin checks never race.
      const otherActiveAdmins = await this.users.countOtherActiveAdminsWithin(manager, id);
      const current = await this.lockChangeable(manager, id);
      const unchanged =
        current.status === dto.status && current.statusReason === dto.reason && current.statusUntil?.getTime() === until?.getTime();
      if (unchanged || (current.status === dto.status && dto.status === 'active')) return { user: current, endedSessions: [] };
      if (isActiveAdmin(current) && dto.status !== 'active' && otherActiveAdmins === 0) throw lastAdmin();

      const user = (await this.users.setStatusWithin(manager, id, dto.status, dto.reason, until))!;
      const endedSessions = dto.status === 'active' ? [] : await this.sessions.endWithin(manager, id, 'admin');
      await this.audit.record(manager, {
        actor,
        action: 'user.status_changed',
        targetId: id,
        reason: dto.reason,
        before: statusFields(current),
        after: statusFields(user),
      });
      return { user, endedSessions };
    });
    return toAdminUserResponse(changed);
  }

  /** Promotes or demotes. A demotion ends every session, so no token keeps admin rights. */
  async setRole(actor: AuditActor, id: string, dto: ChangeRoleDto): Promise<AdminUserResponse> {
    if (actor.type === 'user' && actor.id === id && dto.role !== 'admin') throw selfChange('demote');
    const changed = await this.change(async (manager) => {
      const otherActiveAdmins = await this.users.countOtherActiveAdminsWithin(manager, id);
      const current = await this.lockChangeable(manager, id);
      if (current.role === dto.role) return { user: current, endedSessions: [] };
      if (isActiveAdmin(current) && otherActiveAdmins === 0) throw lastAdmin();

      const user = (await this.users.setRoleWithin(manager, id, dto.role))!;
      const endedSessions = dto.role === 'admin' ? [] : await this.sessions.endWithin(manager, id, 'admin');
      await this.audit.record(manager, {
        actor,
        action: 'user.role_changed',
        targetId: id,
        reason: dto.reason ?? null,
        before: { role: current.role },
        after: { role: user.role },
      });
      return { user, endedSessions };
    });
    return toAdminUserResponse(changed);
  }

  async listSessions(id: string): Promise<AdminSessionResponse[]> {
    if (!(await this.users.findById(id))) throw notFound();
    return (await this.sessions.listActiveOf(id)).map(toAdminSessionResponse);
  }

  /** Ends every session of the user (they must sign in again). */
  async endSessions(actor: AuditActor, id: string): Promise<void> {
    await this.change(async (manager) => {
      const user = await this.users.lockWithin(manager, id);
      if (!user) throw notFound();
      const endedSessions = await this.sessions.endWithin(manager, id, 'admin');
      if (endedSessions.length > 0) {
        await this.audit.record(manager, {
          actor,
          action: 'user.sessions_revoked',
          targetId: id,
          after: { sessionsEnded: endedSessions.length },
        });
      }
      return { user, endedSessions };
    });
  }

  /** For the CLI, which names users by email. */
  async setRoleByEmail(actor: AuditActor, email: string, role: UserRole): Promise<AdminUserResponse> {
    const user = await this.users.findByEmail(email.trim().toLowerCase());
    if (!user) throw notFound();
    return this.setRole(actor, user.id, { role });
  }

  /**
   * Runs a change in one transaction; once it is committed, the ended sessions'
   * access tokens are refused everywhere and the cached profile is dropped.
   */
  private async change(work: (manager: EntityManager) => Promise<Changed>): Promise<UserEntity> {
    const { user, endedSessions } = await this.users.transaction(work);
    await this.sessions.refuseAccessTokens(endedSessions);
    await this.users.forget(user.id);
    return user;
  }

  private async lockChangeable(manager: EntityManager, id: string): Promise<UserEntity> {
    const user = await this.users.lockWithin(manager, id);
    if (!user) throw notFound();
    if (user.status === 'deactivated') {
      throw new AppError(ErrorCode.USER_DEACTIVATED, 409, 'This account was deactivated by its owner; its status and role no longer change.');
    }
    return user;
  }

  /** The end of a suspension: required with suspended, in the future and within MAX_SUSPENSION_DAYS; refused otherwise. */
  private suspensionEnd(dto: ChangeStatusDto): Date | null {
    if (dto.status !== 'suspended') {
      if (dto.until !== undefined) throw fieldError('until', 'is only allowed with status suspended');
      return null;
    }
    if (dto.until === undefined) throw fieldError('until', 'is required with status suspended');
    const until = new Date(dto.until);
    const now = Date.now();
    if (until.getTime() <= now) throw fieldError('until', 'must be in the future');
    if (until.getTime() > now + this.config.admin.maxSuspensionDays * 86_400_000) {
      throw fieldError('until', `must be at most ${this.config.admin.maxSuspensionDays} days ahead`);
    }
    return until;
  }
}

const isActiveAdmin = (user: UserEntity) => user.role === 'admin' && user.status === 'active';
const actorKey = (actor: AuditActor) => (actor.type === 'user' ? actor.id : actor.type);
