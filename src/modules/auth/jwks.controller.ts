import { Controller, Get, Header, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { Public } from '../../core/auth/auth.decorators.js';
import { type PublicJwk, SigningKeys } from '../../core/auth/signing-keys.js';

@ApiTags('Operations')
@Controller({ path: '.well-known', version: VERSION_NEUTRAL })
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  @Get('jwks.json')
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys that verify access tokens (match the token header kid)' })
  @ApiOkResponse({
    schema: {
      example: { keys: [{ kty: 'RSA', n: '0vx7agoebGcQSuu...', e: 'AQAB', kid: 'Zk3b9Pq2xYt1', alg: 'RS256', use: 'sig' }] },
    },
  })
  jwks(): { keys: PublicJwk[] } {
    return this.keys.jwks;
  }
}
