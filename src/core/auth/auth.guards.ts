import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';

import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';
import { AuthUser, IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators.js';

interface RouteAccess {
  isPublic: boolean;
  roles: string[] | undefined;
}

/**
 * A route's access rule, read from its decorators once: metadata never
 * changes at run time, and reflecting on every request is a measurable cost.
 */
@Injectable()
export class RouteAccessRules {
  private readonly byHandler = new WeakMap<object, RouteAccess>();

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RouteAccess {
    const handler = context.getHandler();
    let access = this.byHandler.get(handler);
    if (!access) {
      const targets = [handler, context.getClass()];
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        roles: this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES, targets),
      };
      this.byHandler.set(handler, access);
    }
    return access;
  }
}

/**
 * Global, the only guard: every HTTP route needs a valid, unrevoked access
 * token unless marked @Public(), and the role @Authenticated({ roles }) asks for.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly rules: RouteAccessRules) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const { isPublic, roles } = this.rules.of(context);
    if (isPublic) return true;
    return this.authenticate(context, roles);
  }

  private async authenticate(context: ExecutionContext, roles: string[] | undefined): Promise<boolean> {
    await super.canActivate(context);
    if (!roles?.length) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (user && roles.includes(user.role)) return true;
    throw new AppError(ErrorCode.FORBIDDEN, 403, 'You are not allowed to do this.');
  }

  override handleRequest<T = AuthUser>(error: unknown, user: T | false): T {
    // Errors of our own (a database outage during the revocation check) keep their meaning.
    if (error instanceof AppError) throw error;
    if (error || !user) throw new AppError(ErrorCode.UNAUTHENTICATED, 401, 'A valid access token is required.');
    return user;
  }
}
