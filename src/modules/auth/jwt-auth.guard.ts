import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import passport from 'passport';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { RouteAccessRules } from '../../core/auth/route-access.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { JwtStrategy } from './jwt.strategy.js';
import { revocationUnknown } from './session-revocations.js';

type AuthenticatedRequest = { user?: AuthUser };

/**
 * Global, the only guard: every HTTP route needs a valid, unrevoked access
 * token unless marked @Public(), and the role @Authenticated({ roles }) asks for.
 *
 * It hands passport this app's own strategy rather than a name: passport keeps
 * names in one registry per process, so with two apps in one process (tests
 * boot several) requests to one were checked by the other's strategy, its
 * cache and its database.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly rules: RouteAccessRules,
    private readonly strategy: JwtStrategy,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const { isPublic, roles } = this.rules.of(context);
    if (isPublic) return true;
    return this.authenticate(context, roles);
  }

  private async authenticate(context: ExecutionContext, roles: string[] | undefined): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const user = await new Promise<AuthUser>((resolve, reject) => {
      const refuse = () => reject(new AppError(ErrorCode.UNAUTHENTICATED, 401, 'A valid access token is required.'));
      const verdict = (error: unknown, found: AuthUser | false) => {
        // Passport reports a bad, expired or revoked token as a failure (no error), so an error means
        // the check itself could not be made: never a 401, which makes clients discard a valid token.
        if (error) return reject(error instanceof AppError ? error : this.unexpected(error));
        if (!found) return refuse();
        resolve(found);
      };
      // Passport sets success() and fail() on the strategy object it is given, so each request gets its own.
      const strategy = Object.create(this.strategy) as JwtStrategy;
      passport.authenticate(strategy, { session: false }, verdict)(request, http.getResponse(), refuse);
    });
    request.user = user;
    if (!roles?.length || roles.includes(user.role)) return true;
    throw new AppError(ErrorCode.FORBIDDEN, 403, 'You are not allowed to do this.');
  }

  private unexpected(error: unknown): AppError {
    // The 503 reaches the error filter in its place, so the cause is logged here.
    this.logger.error({ err: error }, 'the access token check failed');
    return revocationUnknown();
  }
}
