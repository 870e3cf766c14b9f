import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { API_KEY_SCOPE, type ApiKeyScope, IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators.js';

interface RouteAccess {
  isPublic: boolean;
  roles: string[] | undefined;
  /** The scope an API key needs here, on the routes that accept one (@AcceptsApiKey). */
  apiKeyScope: ApiKeyScope | undefined;
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
        apiKeyScope: this.reflector.getAllAndOverride<ApiKeyScope | undefined>(API_KEY_SCOPE, targets),
      };
      this.byHandler.set(handler, access);
    }
    return access;
  }
}
