import { Injectable } from '@nestjs/common';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { AuditService } from '../audit/audit.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { PreferencesService } from '../preferences/preferences.service.js';
import type { AccountExport, ChangePasswordDto } from './dto/account.dto.js';
import { UserEvents } from './users.events.js';
import { UsersService } from './users.service.js';

const incorrectCurrentPassword = () =>
  new AppError(ErrorCode.INVALID_CURRENT_PASSWORD, 400, 'The current password is incorrect.', [
    { field: 'currentPassword', message: 'is incorrect' },
  ]);

/** What a user does to their own account beyond the profile: password, deactivation, export. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly preferences: PreferencesService,
    private readonly audit: AuditService,
    private readonly hasher: PasswordHasher,
    private readonly events: EventPublisher,
  ) {}

  /** Checks the current password, sets the new one, and ends every other session (this one stays). */
  async changePassword(user: AuthUser, dto: ChangePasswordDto): Promise<void> {
    const account = await this.users.findForPasswordCheck({ id: user.userId });
    if (!(await this.hasher.verify(dto.currentPassword, account?.passwordHash))) {
      throw incorrectCurrentPassword();
    }
    if (dto.newPassword === dto.currentPassword) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The request has invalid fields.', [
        { field: 'newPassword', message: 'must differ from the current password' },
      ]);
    }
    const passwordHash = await this.hasher.hash(dto.newPassword);
    const ended = await this.users.transaction(async (manager) => {
      // Only over the password just checked: a reset committed meanwhile wins.
      if (!(await this.users.setPasswordWithin(manager, user.userId, passwordHash, account!.passwordHash))) throw incorrectCurrentPassword();
      return this.sessions.endWithin(manager, user.userId, 'password_change', { exceptSessionId: user.sessionId });
    });
    await this.sessions.refuseAccessTokens(ended);
  }

  /** The account becomes deactivated (it can no longer sign in) and every session ends. */
  async deactivate(user: AuthUser): Promise<void> {
    const ended = await this.users.transaction(async (manager) => {
      const current = await this.users.lockWithin(manager, user.userId);
      if (!current) throw new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');
      // Admins leave through another admin (a demotion first), so the last admin can never walk away.
      if (current.role === 'admin') {
        throw new AppError(
          ErrorCode.SELF_CHANGE_FORBIDDEN,
          409,
          'An admin cannot deactivate their own account; another admin must change its role first.',
        );
      }
      const updated = await this.users.setStatusWithin(manager, user.userId, 'deactivated', 'deactivated by the user', null);
      if (!updated) throw new AppError(ErrorCode.USER_NOT_FOUND, 404, 'No such user.');
      await this.events.record(manager, UserEvents.deleted(user.userId));
      return this.sessions.endWithin(manager, user.userId, 'deactivated');
    });
    await this.sessions.refuseAccessTokens(ended);
    await this.users.forget(user.userId);
  }

  /** Everything held about the user. */
  async export(userId: string): Promise<AccountExport> {
    const [profile, preferences, sessions, auditEntries] = await Promise.all([
      this.users.getProfile(userId),
      this.preferences.get(userId),
      this.sessions.listAll(userId),
      this.audit.listAbout(userId),
    ]);
    return {
      exportedAt: new Date().toISOString(),
      profile,
      preferences,
      sessions: sessions.map((s) => ({
        id: s.id,
        createdAt: s.createdAt.toISOString(),
        lastUsedAt: s.lastUsedAt.toISOString(),
        expiresAt: s.expiresAt.toISOString(),
        revokedAt: s.revokedAt?.toISOString() ?? null,
        revokedReason: s.revokedReason,
        ip: s.ip,
        userAgent: s.userAgent,
      })),
      // What was done to the account and why; not who did it from where (the admin's own data).
      auditEntries: auditEntries.map(({ id, actorType, action, reason, before, after, createdAt }) => ({
        id,
        actorType,
        action,
        reason,
        before,
        after,
        createdAt,
      })),
    };
  }
}
