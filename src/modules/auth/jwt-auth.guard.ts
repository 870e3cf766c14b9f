import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import passport from 'passport';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { RouteAccessRules } from '../../core/auth/route-access.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { JwtStrategy } from './jwt.strategy.js';

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
        // Errors of our own (a database outage during the revocation check) keep their meaning.
        if (error instanceof AppError) return reject(error);
        if (error || !found) return refuse();
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
}
