import { createHash } from 'node:crypto';

import { Controller, Get, Headers, Inject, Res, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiHeader, ApiNotModifiedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import { Public } from '../../core/auth/auth.decorators.js';
import { type PublicJwk, SigningKeys } from '../../core/auth/signing-keys.js';
import type { AppConfig } from '../../core/config/config.js';
import { APP_CONFIG } from '../../core/config/config.module.js';

/** Gateways cache the JWKS this long at most, well inside the access-token lifetime (the overlap of a rotation). */
const MAX_AGE_SECONDS = 300;

@ApiTags('Operations')
@Controller({ path: '.well-known', version: VERSION_NEUTRAL })
export class JwksController {
  private readonly maxAgeSeconds: number;

  constructor(
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.maxAgeSeconds = Math.min(MAX_AGE_SECONDS, Math.floor(config.jwt.accessTtlSeconds / 3));
  }

  @Get('jwks.json')
  @Public()
  @ApiOperation({
    summary: 'Public keys that verify access tokens (match the token header kid)',
    description:
      'The current signing key, a key about to sign (published ahead of a rotation) and retired keys whose tokens can still be alive. ' +
      'Cacheable (Cache-Control max-age, shorter than the rotation overlap) with an ETag; If-None-Match answers 304.',
  })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'The ETag of a copy the caller holds' })
  @ApiOkResponse({
    headers: {
      'Cache-Control': { description: 'public, max-age=<seconds>', schema: { type: 'string', example: 'public, max-age=300' } },
      ETag: { description: 'Changes whenever the set of keys changes', schema: { type: 'string', example: '"k3T0cBq4WJ8dV1mN"' } },
    },
    schema: {
      example: { keys: [{ kty: 'RSA', n: '0vx7agoebGcQSuu...', e: 'AQAB', kid: 'Zk3b9Pq2xYt1', alg: 'RS256', use: 'sig' }] },
    },
  })
  @ApiNotModifiedResponse({ description: 'The keys have not changed since the ETag given in If-None-Match' })
  jwks(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): { keys: PublicJwk[] } | undefined {
    const jwks = this.keys.jwks();
    const etag = `"${createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 22)}"`;
    reply.header('Cache-Control', `public, max-age=${this.maxAgeSeconds}`).header('ETag', etag);
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
      reply.status(304);
      return undefined;
    }
    return jwks;
  }
}
