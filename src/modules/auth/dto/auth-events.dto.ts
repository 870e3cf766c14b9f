import { ApiProperty } from '@nestjs/swagger';

import type { SessionEndReason } from '../../sessions/session.entity.js';

// The data of the Auth module's events beyond the envelope (the contract's
// table): the factories in auth.events.ts return these, and /asyncapi.json
// documents them, so the two cannot drift apart.

const USER_ID = { format: 'uuid', example: '3f1c2a4e-8d5b-4b7a-9c1e-2f6d8a9b0c1d' } as const;

/** Keyed by every SessionEndReason, so a new reason cannot be left out of the documented enum. */
const SESSION_END_REASON_MEANINGS: Record<SessionEndReason, string> = {
  logout: 'a logout',
  logout_all: 'a logout of all sessions',
  user_revoked: 'the user ended this session',
  admin: 'an admin ended it',
  password_change: 'a password change',
  password_reset: 'a password reset',
  blocked: 'the account was blocked',
  deactivated: 'the account was deactivated',
  refresh_token_reuse: 'a refresh token was reused (possible theft)',
  session_limit: 'a sign-in beyond MAX_SESSIONS_PER_USER ended the oldest session',
};
export const SESSION_END_REASONS = Object.keys(SESSION_END_REASON_MEANINGS) as SessionEndReason[];

/** session.revoked */
export class SessionRevokedData {
  @ApiProperty(USER_ID) userId!: string;
  @ApiProperty({ format: 'uuid', example: '9b2e7c1a-4f3d-4e8b-a6c5-1d2f3e4a5b6c' }) sessionId!: string;
  @ApiProperty({
    enum: SESSION_END_REASONS,
    example: 'logout',
    description: Object.entries(SESSION_END_REASON_MEANINGS)
      .map(([reason, meaning]) => `${reason}: ${meaning}`)
      .join('; '),
  })
  reason!: SessionEndReason;
  @ApiProperty({
    format: 'date-time',
    example: '2026-11-22T09:15:00.000Z',
    description: "By when every access token of the session has expired: deny the session's tokens until then",
  })
  accessTokenExpiresAt!: string;
}

/** user.email_verification_requested and user.password_reset_requested: what the mailer needs to send the link. */
export class MailedTokenData {
  @ApiProperty(USER_ID) userId!: string;
  @ApiProperty({ format: 'email', example: 'ada@example.com' }) email!: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name!: string;
  @ApiProperty({
    example: 'kq3VbX0n7tWm2sYp9rLc4hJf8dGe1aZu6oNi5yTx_Q0',
    description: "The link's one-time token: for the mailer only (the service keeps just its hash, and drops it from its outbox once published)",
  })
  token!: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-23T09:00:00.000Z', description: 'When the token stops working' }) expiresAt!: string;
}

/** user.email_verified */
export class EmailVerifiedData {
  @ApiProperty(USER_ID) userId!: string;
}
