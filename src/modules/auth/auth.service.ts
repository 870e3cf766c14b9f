import { Injectable } from '@nestjs/common';

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
import type { ClientInfo } from '../../core/http/client-info.js';
import type { LoginDto, RegisterDto } from './dto/auth.dto.js';
import type { AuthResponse } from './dto/auth.response.js';
import { SessionsService } from './sessions.service.js';

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
   */
  async login(dto: LoginDto, client: ClientInfo): Promise<AuthResponse> {
    const user = await this.users.findForPasswordCheck({ email: dto.email });
    const valid = await this.hasher.verify(dto.password, user?.passwordHash);
    if (!user || !valid) {
      this.metrics.countLogin('invalid_credentials');
      throw new AppError(ErrorCode.INVALID_CREDENTIALS, 401, 'The email or password is incorrect.');
    }
    const statusError = accountStatusError(user);
    if (statusError) {
      this.metrics.countLogin(OUTCOME_BY_CODE[statusError.code] ?? 'invalid_credentials');
      throw statusError;
    }
    if (suspensionLapsed(user)) {
      await this.users.reactivate(user.id);
      user.status = 'active';
    }
    if (this.hasher.needsRehash(user.passwordHash)) {
      await this.users.rehashPassword(user.id, await this.hasher.hash(dto.password));
    }
    const { tokens, role } = await this.sessions.signIn(user.id, client).catch((error: unknown) => {
      // Blocked (or the like) by an admin between the password check and the sign-in.
      if (error instanceof AppError) this.metrics.countLogin(OUTCOME_BY_CODE[error.code] ?? 'invalid_credentials');
      throw error;
    });
    this.metrics.countLogin('success');
    return { user: toUserResponse({ ...user, role }), ...tokens };
  }

  async logout(user: AuthUser): Promise<void> {
    await this.sessions.end(user.userId, 'logout', { sessionId: user.sessionId });
  }

  async logoutAll(user: AuthUser): Promise<void> {
    await this.sessions.end(user.userId, 'logout_all');
  }
}
