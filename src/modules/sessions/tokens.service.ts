import { randomBytes, randomUUID } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';
import { deriveKey, open, seal, sha256 } from '../../core/crypto/sealed-box.js';
import type { TokensResponse } from '../auth/dto/auth.response.js';

/** Claims of an access token beyond the registered ones (sub, jti, iat, exp, iss, aud). */
export interface AccessTokenClaims {
  role: string;
  sid: string;
}

@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A fresh access token and refresh token; only the refresh token's hash is ever stored. */
  async issue(user: { id: string; role: string }, sessionId: string): Promise<{ tokens: TokensResponse; refreshTokenHash: Buffer }> {
    const refreshToken = randomBytes(32).toString('base64url');
    const claims: AccessTokenClaims = { role: user.role, sid: sessionId };
    const accessToken = await this.jwt.signAsync(claims, { subject: user.id, jwtid: randomUUID() });
    return {
      tokens: { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.config.jwt.accessTtlSeconds },
      refreshTokenHash: TokensService.hash(refreshToken),
    };
  }

  static hash(refreshToken: string): Buffer {
    return sha256(refreshToken);
  }

  /** The answer to a refresh, sealed under a key only the spent token can rebuild. */
  static sealReplay(spentToken: string, tokens: TokensResponse): Buffer {
    return seal(deriveKey(spentToken, 'refresh replay'), JSON.stringify(tokens));
  }

  static openReplay(spentToken: string, replay: Buffer): TokensResponse | undefined {
    const plain = open(deriveKey(spentToken, 'refresh replay'), replay);
    return plain === undefined ? undefined : (JSON.parse(plain) as TokensResponse);
  }
}
