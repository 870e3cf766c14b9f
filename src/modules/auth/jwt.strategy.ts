import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

import type { AuthUser } from '../../core/auth/auth.decorators.js';
import { JWT_ALGORITHM, SigningKeys } from '../../core/auth/signing-keys.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { SessionRevocations } from './session-revocations.js';
import type { AccessTokenClaims } from './tokens.service.js';

type VerifiedClaims = Partial<AccessTokenClaims> & { sub?: unknown; exp?: unknown };

/** Verifies the signature, issuer, audience and expiry, then refuses tokens of ended sessions. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeys,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly revocations: SessionRevocations,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A parsed key, which jsonwebtoken uses as is (passport-jwt's types predate KeyObject support).
      secretOrKey: keys.publicKey as unknown as Buffer,
      algorithms: [JWT_ALGORITHM],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
    });
  }

  async validate(claims: VerifiedClaims): Promise<AuthUser | false> {
    const { sub, role, sid, exp } = claims;
    if (typeof sub !== 'string' || typeof role !== 'string' || typeof sid !== 'string' || typeof exp !== 'number') {
      return false;
    }
    if (await this.revocations.isRevoked(sid)) return false;
    return { userId: sub, role, sessionId: sid, exp };
  }
}
