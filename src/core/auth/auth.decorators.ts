import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { ProblemDetails } from '../errors/problem-details.js';
import { RateLimit } from '../rate-limit/rate-limit.js';

export const IS_PUBLIC = 'auth:public';
export const REQUIRED_ROLES = 'auth:roles';
export const API_KEY_SCOPE = 'auth:api-key-scope';

/** The header services put their API key in. */
export const API_KEY_HEADER = 'x-api-key';
/** What a service API key may be granted; each scope is accepted only by the routes marked @AcceptsApiKey(scope). */
export const API_KEY_SCOPES = ['users:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a verified access token says about its bearer. */
export interface AuthUser {
  userId: string;
  role: string;
  sessionId: string;
  /** Access token expiry, epoch seconds. */
  exp: number;
}

/** What a verified API key says about the service presenting it. */
export interface AuthApiKey {
  apiKeyId: string;
  scopes: ApiKeyScope[];
}

/** Who calls a route that accepts an API key: a signed-in user, or a service. */
export type Caller = AuthUser | AuthApiKey;

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

/**
 * On a route of an @Authenticated() controller: also admits a service's
 * `X-API-Key` holding this scope instead of a Bearer token, rate-limited per
 * key; `roles` is the role rule for Bearer tokens on this route. Documents the
 * scheme, 401 and 403 for both. On any route without it, an API key is a 401.
 */
export function AcceptsApiKey(scope: ApiKeyScope, options: { roles?: string[] } = {}) {
  const roles = options.roles?.length ? options.roles : undefined;
  return applyDecorators(
    SetMetadata(API_KEY_SCOPE, scope),
    ...(roles ? [SetMetadata(REQUIRED_ROLES, roles)] : []),
    ApiSecurity('apiKey'),
    RateLimit('api-key'),
    ApiUnauthorizedResponse({
      description: 'No valid Bearer access token, and no valid API key (unknown, revoked or expired) (UNAUTHENTICATED).',
      type: ProblemDetails,
    }),
    ApiForbiddenResponse({
      description: `${roles ? `A Bearer token without role ${roles.join(' or ')}, or an API key` : 'An API key'} without the scope ${scope} (FORBIDDEN).`,
      type: ProblemDetails,
    }),
  );
}

/** The signed-in user, or the API key, on a route marked @AcceptsApiKey. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const request = context.switchToHttp().getRequest<{ user?: AuthUser; apiKey?: AuthApiKey }>();
  return request.apiKey ?? request.user!;
});

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser => context.switchToHttp().getRequest<{ user: AuthUser }>().user,
);
