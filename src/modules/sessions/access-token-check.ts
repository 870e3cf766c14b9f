import { Injectable } from '@nestjs/common';
import { JwtService, TokenExpiredError } from '@nestjs/jwt';

import type { InvalidTokenReply, VerifyTokenVerdict } from '../auth/dto/verify-token.dto.js';
import { type SessionClaims, sessionClaims, VERIFIED_TOKENS_KEPT } from './jwt.strategy.js';
import { SigningKeys } from '../../core/auth/signing-keys.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsRepository } from './sessions.repository.js';
import { VerifiedTokens } from './verified-tokens.js';

const invalid = (reason: InvalidTokenReply['reason']): InvalidTokenReply => ({ valid: false, reason });

/**
 * auth.verify_token for services that hold a user's access token: the same
 * checks as the HTTP guard (signature, issuer, audience and expiry once per
 * token, the session's revocation on every call), and when a token is refused,
 * why. Working out the reason costs a query, paid only for refused tokens.
 */
@Injectable()
export class AccessTokenCheck {
  private readonly verified = new VerifiedTokens<SessionClaims>(VERIFIED_TOKENS_KEPT);

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeys,
    private readonly revocations: SessionRevocations,
    private readonly sessions: SessionsRepository,
  ) {}

  async verify(token: string): Promise<VerifyTokenVerdict> {
    let claims = this.verified.get(token);
    if (!claims) {
      const signer = this.keys.keyForToken(token);
      // No key of ours has that kid (or it retired for good): not a token we can vouch for.
      if (!signer) return invalid('tampered');
      try {
        claims = sessionClaims(await this.jwt.verifyAsync<Record<string, unknown>>(token, { publicKey: signer.key as unknown as string }), signer.validUntil);
      } catch (error) {
        // Expiry is checked after the signature: an expired token is one we signed.
        return invalid(error instanceof TokenExpiredError ? 'expired' : 'tampered');
      }
      if (!claims) return invalid('tampered');
      this.verified.remember(token, claims);
    }
    if (!(await this.revocations.isRevoked(claims.sid))) {
      return { valid: true, userId: claims.sub, role: claims.role as 'user' | 'admin', sessionId: claims.sid };
    }
    return invalid(await this.whyEnded(claims.sid));
  }

  private async whyEnded(sessionId: string): Promise<InvalidTokenReply['reason']> {
    const end = await this.sessions.endOf(sessionId);
    if (end?.userStatus === 'blocked' || end?.userStatus === 'suspended' || end?.userStatus === 'deactivated') return end.userStatus;
    if (end?.revokedReason === 'logout' || end?.revokedReason === 'logout_all') return 'logged_out';
    // Ended without a revocation: the session timed out (idle or absolute lifetime).
    if (end && end.revokedReason === null) return 'expired';
    return 'revoked';
  }
}
