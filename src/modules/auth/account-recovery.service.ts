import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { UsersService } from '../users/users.service.js';
import { type AccountTokenPurpose, AccountTokensRepository, type ConsumeResult } from './account-tokens.repository.js';
import { AuthEvents } from './auth.events.js';
import { DevMailbox } from './dev-mailbox.js';
import { SessionsService } from '../sessions/sessions.service.js';

function tokenError(result: ConsumeResult): AppError | undefined {
  if (!('problem' in result)) return undefined;
  return result.problem === 'expired'
    ? new AppError(ErrorCode.TOKEN_EXPIRED, 400, 'This link has expired; ask for a new one.')
    : new AppError(ErrorCode.TOKEN_INVALID, 400, 'This link is invalid or was already used.');
}

/** Email verification and password recovery, through single-use mailed tokens. */
@Injectable()
export class AccountRecoveryService {
  private readonly logger = new Logger('AccountRecovery');

  constructor(
    private readonly tokens: AccountTokensRepository,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly hasher: PasswordHasher,
    private readonly events: EventPublisher,
    private readonly devMail: DevMailbox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** In the caller's transaction: a new verification token, mailed through user.email_verification_requested. */
  async requestVerification(manager: EntityManager, user: { id: string; email: string; name: string }): Promise<void> {
    const { token, expiresAt } = await this.issue(manager, user.id, 'email_verification', this.config.tokens.emailVerificationTtlSeconds);
    await this.events.record(
      manager,
      AuthEvents.emailVerificationRequested({ userId: user.id, email: user.email, name: user.name, token, expiresAt: expiresAt.toISOString() }),
    );
    this.devMail.send(manager, { to: user.email, subject: 'Verify your email', route: '/auth/verify-email', body: { token } });
  }

  /** Sends a new link, unless the email is already verified. */
  async resendVerification(user: AuthUser): Promise<void> {
    const profile = await this.users.getProfile(user.userId);
    if (profile.emailVerified) return;
    await this.users.transaction((manager) => this.requestVerification(manager, profile));
  }

  async verifyEmail(token: string): Promise<void> {
    const userId = await this.users.transaction(async (manager) => {
      const result = await this.consume(manager, token, 'email_verification');
      const error = tokenError(result);
      if (error) throw error;
      const { userId } = result as { userId: string };
      if (await this.users.markEmailVerifiedWithin(manager, userId)) {
        await this.events.record(manager, AuthEvents.emailVerified(userId));
      }
      return userId;
    });
    await this.users.forget(userId);
  }

  /**
   * Answers at once and does the work afterwards, so the answer and its timing
   * are the same whether or not the email belongs to an account.
   */
  forgotPassword(email: string): void {
    setImmediate(() => {
      this.requestPasswordReset(email).catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not process a password reset request'),
      );
    });
  }

  /** Resolves when the reset (if any) is recorded; exposed for tests and the background path above. */
  async requestPasswordReset(email: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    // Deactivated accounts stay closed; blocked and suspended ones may still fix their password.
    if (!user || user.status === 'deactivated') return;
    await this.users.transaction(async (manager) => {
      const { token, expiresAt } = await this.issue(manager, user.id, 'password_reset', this.config.tokens.passwordResetTtlSeconds);
      await this.events.record(
        manager,
        AuthEvents.passwordResetRequested({ userId: user.id, email: user.email, name: user.name, token, expiresAt: expiresAt.toISOString() }),
      );
      this.devMail.send(manager, {
        to: user.email,
        subject: 'Reset your password (put your new password in the command)',
        route: '/auth/password/reset',
        body: { token, newPassword: '<new password>' },
      });
    });
  }

  /**
   * Under the user's lock, so that requests racing each other take turns and
   * only the last link issued works (each issue voids the unused ones before it).
   */
  private async issue(manager: EntityManager, userId: string, purpose: AccountTokenPurpose, ttlSeconds: number) {
    await this.users.lockWithin(manager, userId);
    return this.tokens.issue(manager, userId, purpose, ttlSeconds);
  }

  /**
   * Takes the user's lock before the token's, in the order issuing takes them
   * (user, then the tokens it voids), so a use racing a new link cannot deadlock.
   */
  private async consume(manager: EntityManager, token: string, purpose: AccountTokenPurpose): Promise<ConsumeResult> {
    const owner = await this.tokens.ownerOf(manager, token, purpose);
    if (owner) await this.users.lockWithin(manager, owner);
    return this.tokens.consume(manager, token, purpose);
  }

  /** Sets the new password (voiding the other unused links) and ends every session of the user. */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const passwordHash = await this.hasher.hash(newPassword);
    const ended = await this.users.transaction(async (manager) => {
      const result = await this.consume(manager, token, 'password_reset');
      const error = tokenError(result);
      if (error) throw error;
      const { userId } = result as { userId: string };
      // A link mailed before the account was deactivated must not reopen it.
      const user = await this.users.lockWithin(manager, userId);
      if (!user || user.status === 'deactivated') throw tokenError({ problem: 'invalid' })!;
      await this.users.setPasswordWithin(manager, userId, passwordHash);
      return this.sessions.endWithin(manager, userId, 'password_reset');
    });
    await this.sessions.refuseAccessTokens(ended);
  }
}
