import { ApiProperty } from '@nestjs/swagger';

import { UserResponse } from '../../users/dto/user.response.js';
import type { SessionEntity } from '../../sessions/session.entity.js';

export class TokensResponse {
  @ApiProperty({ description: 'RS256 JWT; verify with /.well-known/jwks.json', example: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...' })
  accessToken!: string;

  @ApiProperty({ description: 'Opaque and single-use: every refresh returns a new one', example: 'd3Jvbmc...' })
  refreshToken!: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType!: 'Bearer';

  @ApiProperty({ description: 'Access token lifetime in seconds', example: 900 })
  expiresIn!: number;
}

export class AuthResponse extends TokensResponse {
  @ApiProperty({ type: UserResponse })
  user!: UserResponse;
}

export class SessionResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Last sign-in or refresh' }) lastUsedAt!: string;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)' }) userAgent!: string | null;
  @ApiProperty({ description: 'Whether this is the session of the token making the request' }) current!: boolean;
}

export function toSessionResponse(session: SessionEntity, currentSessionId?: string): SessionResponse {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    ip: session.ip,
    userAgent: session.userAgent,
    current: session.id === currentSessionId,
  };
}
