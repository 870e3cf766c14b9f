import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

import type { InvalidTokenReason, VerifyTokenRequest } from '../../../client-kit/user-service.messages.js';
import { USER_ROLES, type UserRole } from '../../users/user.entity.js';

export const INVALID_TOKEN_REASONS: InvalidTokenReason[] = [
  'expired',
  'tampered',
  'logged_out',
  'revoked',
  'blocked',
  'suspended',
  'deactivated',
];

/** auth.verify_token */
export class VerifyTokenMessage implements VerifyTokenRequest {
  @ApiProperty({ description: 'An access token, as sent in Authorization: Bearer', example: 'eyJhbGciOiJSUzI1NiIs…' })
  @IsString({ message: 'must be a string' })
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(4096, { message: 'must be at most 4096 characters' })
  token!: string;
}

export class ValidTokenReply {
  @ApiProperty({ enum: [true] }) valid!: true;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ enum: USER_ROLES }) role!: UserRole;
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
}

export class InvalidTokenReply {
  @ApiProperty({ enum: [false] }) valid!: false;
  @ApiProperty({
    enum: INVALID_TOKEN_REASONS,
    description:
      'expired: past its exp; tampered: not a token we signed (bad signature, format, issuer or audience); ' +
      'logged_out: its session was ended by a logout; revoked: its session was ended otherwise; ' +
      'blocked, suspended, deactivated: the account is',
  })
  reason!: InvalidTokenReason;
}

export type VerifyTokenVerdict = ValidTokenReply | InvalidTokenReply;
