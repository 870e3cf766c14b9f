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

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

export function sessionClaims(claims: Record<string, unknown>): SessionClaims | undefined {
  const { sub, role, sid, exp } = claims;
  if (typeof sub !== 'string' || typeof role !== 'string' || typeof sid !== 'string' || typeof exp !== 'number') return undefined;
  return { sub, role, sid, exp };
}

/**
 * Verifies the signature, issuer, audience and expiry (once per token, see
 * VerifiedTokens), then refuses tokens of ended sessions on every request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new VerifiedTokens<SessionClaims>(VERIFIED_TOKENS_KEPT);

  constructor(
    keys: SigningKeys,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly revocations: SessionRevocations,
  ) {
    super({
      jwtFromRequest: bearerToken,
      // A parsed key, which jsonwebtoken uses as is (passport-jwt's types predate KeyObject support).
      secretOrKey: keys.publicKey as unknown as Buffer,
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
      (user) => (user ? this.success(user) : this.fail(401)),
      (error: Error) => this.error(error),
    );
  }

  /** After passport-jwt has verified the token. */
  async validate(request: Request, verified: Record<string, unknown>): Promise<AuthUser | false> {
    const claims = sessionClaims(verified);
    if (!claims) return false;
    this.verified.remember(bearerToken(request)!, claims);
    return this.admit(claims);
  }

  private async admit({ sub, role, sid, exp }: SessionClaims): Promise<AuthUser | false> {
    if (await this.revocations.isRevoked(sid)) return false;
    return { userId: sub, role, sessionId: sid, exp };
  }
}
