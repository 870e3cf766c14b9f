import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { EmailVerifiedData, MailedTokenData, SessionRevokedData } from './dto/auth-events.dto.js';
import type { SessionEndReason } from '../sessions/session.entity.js';

/** Events the Auth module publishes (names and data are the contract's). */
export const AuthEvents = {
  sessionRevoked: (
    userId: string,
    sessionId: string,
    reason: SessionEndReason,
    accessTokenExpiresAt: Date,
  ): DomainEvent<'session.revoked', SessionRevokedData> => ({
    name: 'session.revoked',
    userId,
    data: { userId, sessionId, reason, accessTokenExpiresAt: accessTokenExpiresAt.toISOString() },
  }),
  emailVerificationRequested: (token: MailedTokenData): DomainEvent<'user.email_verification_requested', MailedTokenData> => ({
    name: 'user.email_verification_requested',
    userId: token.userId,
    data: token,
  }),
  emailVerified: (userId: string): DomainEvent<'user.email_verified', EmailVerifiedData> => ({
    name: 'user.email_verified',
    userId,
    data: { userId },
  }),
  passwordResetRequested: (token: MailedTokenData): DomainEvent<'user.password_reset_requested', MailedTokenData> => ({
    name: 'user.password_reset_requested',
    userId: token.userId,
    data: token,
  }),
};
