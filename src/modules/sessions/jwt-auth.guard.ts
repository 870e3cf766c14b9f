import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import passport from 'passport';

import { API_KEY_HEADER, type ApiKeyScope, type AuthApiKey, type AuthUser } from '../../core/auth/auth.decorators.js';
import { bearerInsufficientRole, bearerRefused, bearerRequired, type TokenRefusal } from '../../core/auth/bearer-challenge.js';
import { RouteAccessRules } from '../../core/auth/route-access.js';
import { AppError } from '../../core/errors/app-error.js';
import { ErrorCode } from '../../core/errors/error-codes.js';
import { ApiKeyCheck } from '../api-keys/api-key-check.js';
import { bearerToken, JwtStrategy, SESSION_ENDED } from './jwt.strategy.js';
import { revocationUnknown } from './session-revocations.js';

type AuthenticatedRequest = { user?: AuthUser; apiKey?: AuthApiKey; headers: Record<string, string | string[] | undefined> };

/** Why passport refused the Bearer token it was given, from the challenge the strategy failed with. */
function refusalOf(challenge: unknown): TokenRefusal {
  if (challenge === SESSION_ENDED) return 'session_ended';
  // passport-jwt fails with jsonwebtoken's error, which checks the signature before the expiry.
  if (challenge instanceof Error && challenge.name === 'TokenExpiredError') return 'expired';
  return 'invalid';
}

/**
 * Global, the only guard: every HTTP route needs a valid, unrevoked access
 * token unless marked @Public(), and the role @Authenticated({ roles }) asks for.
 * A request with an X-API-Key and no Authorization header is a service's: it is
 * admitted only on routes marked @AcceptsApiKey(scope), with a key holding that
 * scope (401 for a key anywhere else, or unknown, revoked or expired; 403 for a
 * key without the scope). With both headers, the access token decides.
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
    private readonly apiKeys: ApiKeyCheck,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const { isPublic, roles, apiKeyScope } = this.rules.of(context);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const apiKey = request.headers[API_KEY_HEADER];
    if (apiKey !== undefined && request.headers.authorization === undefined) return this.authenticateApiKey(request, apiKey, apiKeyScope);
    return this.authenticate(context, roles);
  }

  private async authenticateApiKey(request: AuthenticatedRequest, presented: string | string[], scope: ApiKeyScope | undefined): Promise<boolean> {
    if (!scope) {
      throw bearerRequired('This route needs a Bearer access token; API keys are not accepted here.');
    }
    let key: AuthApiKey | undefined;
    try {
      key = typeof presented === 'string' ? await this.apiKeys.verify(presented) : undefined;
    } catch (error) {
      throw error instanceof AppError ? error : this.unexpected(error);
    }
    // No Bearer token was sent; the challenge names the scheme the route also takes.
    if (!key) throw bearerRequired('The API key is unknown, revoked or expired.');
    if (!key.scopes.includes(scope)) throw new AppError(ErrorCode.FORBIDDEN, 403, `This API key lacks the scope ${scope}.`);
    request.apiKey = key;
    this.apiKeys.recordUse(key);
    return true;
  }

  private async authenticate(context: ExecutionContext, roles: string[] | undefined): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    // No Bearer token at all (or another scheme) is not an invalid token (RFC 6750 §3.1).
    const sentToken = bearerToken(request as unknown as Parameters<typeof bearerToken>[0]) !== null;
    const user = await new Promise<AuthUser>((resolve, reject) => {
      const refuse = (challenge?: unknown) => reject(sentToken ? bearerRefused(refusalOf(challenge)) : bearerRequired());
      const verdict = (error: unknown, found: AuthUser | false, challenge?: unknown) => {
        // Passport reports a bad, expired or revoked token as a failure (no error), so an error means
        // the check itself could not be made: never a 401, which makes clients discard a valid token.
        if (error) return reject(error instanceof AppError ? error : this.unexpected(error));
        if (!found) return refuse(challenge);
        resolve(found);
      };
      // Passport sets success() and fail() on the strategy object it is given, so each request gets its own.
      const strategy = Object.create(this.strategy) as JwtStrategy;
      passport.authenticate(strategy, { session: false }, verdict)(request, http.getResponse(), () => refuse());
    });
    request.user = user;
    if (!roles?.length || roles.includes(user.role)) return true;
    throw bearerInsufficientRole();
  }

  private unexpected(error: unknown): AppError {
    // The 503 reaches the error filter in its place, so the cause is logged here.
    this.logger.error({ err: error }, 'the access token or API key check failed');
    return revocationUnknown();
  }
}
