import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { PasswordHasher } from '../../core/auth/password-hasher.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { IdempotencyService, type StoredResponse } from '../../core/idempotency/idempotency.service.js';
import { type LoginOutcome, MetricsService } from '../../core/metrics/metrics.service.js';
import { toUserResponse } from '../users/dto/user.response.js';
import { UsersService } from '../users/users.service.js';
import { AccountRecoveryService } from './account-recovery.service.js';
import { accountStatusError, suspensionLapsed } from './account-status.js';
import { LoginLockout } from './login-lockout.js';
import type { ClientInfo } from '../../core/http/client-info.js';
import type { LoginDto, RegisterDto } from './dto/auth.dto.js';
import type { AuthResponse } from './dto/auth.response.js';
import { SessionsService } from '../sessions/sessions.service.js';

const OUTCOME_BY_CODE: Partial<Record<ErrorCode, LoginOutcome>> = {
  ACCOUNT_BLOCKED: 'account_blocked',
  ACCOUNT_SUSPENDED: 'account_suspended',
  ACCOUNT_DEACTIVATED: 'account_deactivated',
};

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly hasher: PasswordHasher,
    private readonly idempotency: IdempotencyService,
    private readonly metrics: MetricsService,
    private readonly recovery: AccountRecoveryService,
    private readonly lockout: LoginLockout,
  ) {}

  /**
   * Creates the account, its first session and its verification token in one
   * transaction (and, with an Idempotency-Key, the stored answer).
   */
  async register(dto: RegisterDto, client: ClientInfo, idempotencyKey?: string): Promise<StoredResponse<AuthResponse>> {
    const request = IdempotencyService.request('POST /auth/register', idempotencyKey, dto);
    const passwordHash = await this.hasher.hash(dto.password);

    return this.sessions.transaction((manager) =>
      this.idempotency.once(manager, request, async () => {
        const user = await this.users.create(manager, {
          email: dto.email,
          passwordHash,
          name: dto.name,
          mobile: dto.mobile ?? null,
        });
        await this.recovery.requestVerification(manager, user);
        const tokens = await this.sessions.start(manager, user, client);
        return { status: 201, body: { user: toUserResponse(user), ...tokens } };
      }),
    );
  }

  /**
   * Unknown email and wrong password get the same answer after the same work.
   * The account's status is only revealed to someone who knows its password.
   * An address locked out of the account (LoginLockout) is refused before any
   * work, whatever the password.
   */
  async login(dto: LoginDto, client: ClientInfo): Promise<AuthResponse> {
    const retryAfter = await this.lockout.retryAfterSeconds(dto.email, client.ip);
    if (retryAfter > 0) {
      this.metrics.countLogin('locked_out');
      throw new AppError(ErrorCode.RATE_LIMITED, 429, 'Too many failed sign-ins; try again later.', undefined, retryAfter);
    }
    const user = await this.users.findForPasswordCheck({ email: dto.email });
    const valid = await this.hasher.verify(dto.password, user?.passwordHash);
    if (!user || !valid) {
      await this.lockout.recordFailure(dto.email, client.ip);
      throw this.invalidCredentials();
    }
    await this.lockout.recordSuccess(dto.email, client.ip);
    const statusError = accountStatusError(user);
    if (statusError) {
      this.metrics.countLogin(OUTCOME_BY_CODE[statusError.code] ?? 'invalid_credentials');
      throw statusError;
    }
    if (suspensionLapsed(user)) {
      await this.users.reactivate(user.id);
      user.status = 'active';
    }
    // Hashed before the sign-in takes the user's lock, and written under it only if the password is still the one checked.
    const rehashed = this.hasher.needsRehash(user.passwordHash) ? await this.hasher.hash(dto.password) : undefined;
    const rehash = rehashed ? (manager: EntityManager) => this.users.rehashPasswordWithin(manager, user.id, rehashed) : undefined;
    const signedIn = await this.sessions
      .signIn(user.id, client, user.passwordHash, rehash)
      .catch((error: unknown) => {
        // Blocked (or the like) by an admin between the password check and the sign-in.
        if (error instanceof AppError) this.metrics.countLogin(OUTCOME_BY_CODE[error.code] ?? 'invalid_credentials');
        throw error;
      });
    if (!signedIn) {
      // The password changed (a reset, say) while this one was being checked: it is no longer the password.
      throw this.invalidCredentials();
    }
    this.metrics.countLogin('success');
    return { user: toUserResponse({ ...user, role: signedIn.role }), ...signedIn.tokens };
  }

  private invalidCredentials(): AppError {
    this.metrics.countLogin('invalid_credentials');
    return new AppError(ErrorCode.INVALID_CREDENTIALS, 401, 'The email or password is incorrect.');
  }

  async logout(user: AuthUser): Promise<void> {
    await this.sessions.end(user.userId, 'logout', { sessionId: user.sessionId });
  }

  async logoutAll(user: AuthUser): Promise<void> {
    await this.sessions.end(user.userId, 'logout_all');
  }
}
