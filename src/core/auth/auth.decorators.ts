import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { ProblemDetails } from '../errors/problem-details.js';

export const IS_PUBLIC = 'auth:public';
export const REQUIRED_ROLES = 'auth:roles';

/** What a verified access token says about its bearer. */
export interface AuthUser {
  userId: string;
  role: string;
  sessionId: string;
  /** Access token expiry, epoch seconds. */
  exp: number;
}

/** Opts a route out of the global deny-by-default authentication. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Requires a valid access token (and one of the roles, if given), and documents it. */
export function Authenticated(options: { roles?: string[] } = {}) {
  const decorators = [
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'Missing, malformed, expired or revoked access token (UNAUTHENTICATED).', type: ProblemDetails }),
  ];
  if (options.roles?.length) {
    decorators.push(
      SetMetadata(REQUIRED_ROLES, options.roles),
      ApiForbiddenResponse({ description: `Requires role ${options.roles.join(' or ')} (FORBIDDEN).`, type: ProblemDetails }),
    );
  }
  return applyDecorators(...decorators);
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser => context.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
