import { JwtService } from '@nestjs/jwt';

import { generateRsaKeyPair, JWT_ALGORITHM } from '../../core/auth/signing-keys.js';
import { loadConfig } from '../../core/config/config.js';
import type { TokensResponse } from '../auth/dto/auth.response.js';
import { TokensService } from './tokens.service.js';

const keys = generateRsaKeyPair();
const config = loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_TTL_SECONDS: '300' });
const jwt = new JwtService({
  privateKey: keys.privateKeyPem,
  publicKey: keys.publicKeyPem,
  signOptions: {
    algorithm: JWT_ALGORITHM,
    keyid: 'kid-1',
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    expiresIn: config.jwt.accessTtlSeconds,
  },
  verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: config.jwt.issuer, audience: config.jwt.audience },
});
const service = new TokensService(jwt, config);

describe('TokensService', () => {
  it('issues an RS256 access token naming the user, role and session', async () => {
    const { tokens } = await service.issue({ id: 'user-1', role: 'admin' }, 'session-1');

    const claims = await jwt.verifyAsync<Record<string, unknown>>(tokens.accessToken);
    expect(claims).toMatchObject({
      sub: 'user-1',
      role: 'admin',
      sid: 'session-1',
      iss: config.jwt.issuer,
      aud: config.jwt.audience,
      jti: expect.any(String),
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    const header = JSON.parse(Buffer.from(tokens.accessToken.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 300 });
  });

  it('issues a fresh random refresh token and returns only its hash for storage', async () => {
    const first = await service.issue({ id: 'u', role: 'user' }, 's');
    const second = await service.issue({ id: 'u', role: 'user' }, 's');

    expect(first.tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.tokens.refreshToken).not.toBe(second.tokens.refreshToken);
    expect(first.refreshTokenHash.equals(TokensService.hash(first.tokens.refreshToken))).toBe(true);
    expect(first.refreshTokenHash.toString('utf8')).not.toContain(first.tokens.refreshToken);

    const a = await jwt.verifyAsync<{ jti: string }>(first.tokens.accessToken);
    const b = await jwt.verifyAsync<{ jti: string }>(second.tokens.accessToken);
    expect(a.jti).not.toBe(b.jti);
  });

  it('seals a replay only the spent token can open', () => {
    const tokens: TokensResponse = { accessToken: 'a.b.c', refreshToken: 'next', tokenType: 'Bearer', expiresIn: 300 };

    const replay = TokensService.sealReplay('spent-token', tokens);

    expect(TokensService.openReplay('spent-token', replay)).toEqual(tokens);
    expect(TokensService.openReplay('another-token', replay)).toBeUndefined();
    expect(replay.toString('utf8')).not.toContain('next');
  });
});
