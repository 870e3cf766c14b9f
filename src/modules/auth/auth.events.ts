import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { SessionEndReason } from './session.entity.js';

interface MailedToken {
  userId: string;
  email: string;
  name: string;
  /** Goes to the mailer only; removed from the outbox once published. */
  token: string;
  expiresAt: string;
}

/** Events the Auth module publishes (names and data are the contract's). */
export const AuthEvents = {
  sessionRevoked: (
    userId: string,
    sessionId: string,
    reason: SessionEndReason,
    accessTokenExpiresAt: Date,
  ): DomainEvent<'session.revoked', { userId: string; sessionId: string; reason: SessionEndReason; accessTokenExpiresAt: string }> => ({
    name: 'session.revoked',
    userId,
    data: { userId, sessionId, reason, accessTokenExpiresAt: accessTokenExpiresAt.toISOString() },
  }),
  emailVerificationRequested: (token: MailedToken): DomainEvent<'user.email_verification_requested', MailedToken> => ({
    name: 'user.email_verification_requested',
    userId: token.userId,
    data: token,
  }),
  emailVerified: (userId: string): DomainEvent<'user.email_verified', { userId: string }> => ({
    name: 'user.email_verified',
    userId,
    data: { userId },
  }),
  passwordResetRequested: (token: MailedToken): DomainEvent<'user.password_reset_requested', MailedToken> => ({
    name: 'user.password_reset_requested',
    userId: token.userId,
    data: token,
  }),
};
