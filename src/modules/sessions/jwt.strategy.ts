import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { ExtractJwt, Strategy } from 'passport-jwt';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { JWT_ALGORITHM, SigningKeys } from '../../core/auth/signing-keys.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { SessionRevocations } from './session-revocations.js';
import type { AccessTokenClaims } from './tokens.service.js';
import { VerifiedTokens } from './verified-tokens.js';

export type SessionClaims = AccessTokenClaims & { sub: string; exp: number };

/** About 1.5 MiB when full; more than the tokens one replica sees in one access-token lifetime at most sites. */
export const VERIFIED_TOKENS_KEPT = 10_000;

/** The Bearer token of a request (Authorization: Bearer <token>), or null. */
export const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * The passport challenge a refused token's session ended with (logout,
 * revocation, timeout), so the guard can say so; other refusals carry
 * passport-jwt's own (a TokenExpiredError, a JsonWebTokenError…).
 */
export const SESSION_ENDED = 'session_ended';

/**
 * The claims a session needs, or undefined. `keyValidUntil` (ms) is when the
 * verifying key retires for good: a token is not accepted past it, even from
 * the memo of verified tokens, whatever its exp says.
 */
export function sessionClaims(claims: Record<string, unknown>, keyValidUntil?: number): SessionClaims | undefined {
  const { sub, role, sid, exp } = claims;
  if (typeof sub !== 'string' || typeof role !== 'string' || typeof sid !== 'string' || typeof exp !== 'number') return undefined;
  return { sub, role, sid, exp: keyValidUntil === undefined ? exp : Math.min(exp, Math.floor(keyValidUntil / 1_000)) };
}

/**
 * Verifies the signature, issuer, audience and expiry (once per token, see
 * VerifiedTokens), then refuses tokens of ended sessions on every request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new VerifiedTokens<SessionClaims>(VERIFIED_TOKENS_KEPT);

  constructor(
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly revocations: SessionRevocations,
  ) {
    super({
      jwtFromRequest: bearerToken,
      // The key the token's kid names (the current, next or a retired one), parsed once; unknown: refused (401).
      secretOrKeyProvider: (_request: Request, token: string, done: (error: Error | null, key?: string | Buffer) => void) => {
        const found = keys.keyForToken(token);
        // A parsed key, which jsonwebtoken uses as is (passport-jwt's types predate KeyObject support).
        if (found) done(null, found.key as unknown as Buffer);
        else done(new Error('no signing key with the kid of this token'));
      },
      algorithms: [JWT_ALGORITHM],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      passReqToCallback: true,
    });
  }

  // Passport calls this on a per-request copy of the strategy, which has success(), fail() and error().
  override authenticate(request: Request, options?: unknown): void {
    const token = bearerToken(request);
    const claims = token ? this.verified.get(token) : undefined;
    if (!claims) return super.authenticate(request, options);
    this.admit(claims).then(
      (user) => (user ? this.success(user) : this.fail(SESSION_ENDED, 401)),
      (error: Error) => this.error(error),
    );
  }

  /** After passport-jwt has verified the token. */
  async validate(request: Request, verified: Record<string, unknown>): Promise<AuthUser | false | [false, typeof SESSION_ENDED]> {
    const token = bearerToken(request)!;
    const claims = sessionClaims(verified, this.keys.keyForToken(token)?.validUntil);
    if (!claims) return false;
    this.verified.remember(token, claims);
    // [user, info]: @nestjs/passport hands an array to passport's done() as its arguments.
    return (await this.admit(claims)) || [false, SESSION_ENDED];
  }

  private async admit({ sub, role, sid, exp }: SessionClaims): Promise<AuthUser | false> {
    if (await this.revocations.isRevoked(sid)) return false;
    return { userId: sub, role, sessionId: sid, exp };
  }
}
