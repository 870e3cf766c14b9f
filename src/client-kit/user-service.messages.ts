/**
 * What another service needs to talk to the user service over RabbitMQ: the
 * queue and exchange names, the message patterns and events, and the shape of
 * each payload and reply. Types and constants only, no server code: copy this
 * folder, or import it, and nothing else comes with it.
 */

/** The durable queue the patterns and notification.requested are served on. */
export const USER_SERVICE_QUEUE = 'user-service';
/** The durable topic exchange every event is published to (routing key: the event name). */
export const USER_EVENTS_EXCHANGE = 'user.events';
/** Messages the service could not handle, with x-death-reason and friends in their headers. */
export const USER_SERVICE_DEAD_LETTER_QUEUE = 'user-service.dead-letter';
/** Optional header carrying the caller's correlation id into the service's logs and events. */
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** Request/response patterns (ClientProxy.send). */
export const UserServicePatterns = {
  usersGet: 'users.get',
  usersGetMany: 'users.get_many',
  verifyToken: 'auth.verify_token',
  preferencesGet: 'preferences.get',
} as const;
export type UserServicePattern = (typeof UserServicePatterns)[keyof typeof UserServicePatterns];

/** Events the service consumes (ClientProxy.emit to USER_SERVICE_QUEUE). */
export const UserServiceInbox = {
  notificationRequested: 'notification.requested',
} as const;

/** Events the service publishes to USER_EVENTS_EXCHANGE. */
export const UserServiceEvents = {
  userCreated: 'user.created',
  userUpdated: 'user.updated',
  userDeleted: 'user.deleted',
  userStatusChanged: 'user.status_changed',
  userRoleChanged: 'user.role_changed',
  emailVerificationRequested: 'user.email_verification_requested',
  emailVerified: 'user.email_verified',
  passwordResetRequested: 'user.password_reset_requested',
  passwordChanged: 'user.password_changed',
  preferencesUpdated: 'preferences.updated',
  sessionRevoked: 'session.revoked',
  notificationDispatch: 'notification.dispatch',
  notificationSuppressed: 'notification.suppressed',
} as const;
export type UserServiceEvent = (typeof UserServiceEvents)[keyof typeof UserServiceEvents];

export type UserRole = 'user' | 'admin';
export type UserStatus = 'active' | 'blocked' | 'suspended' | 'deactivated';

export interface User {
  id: string;
  email: string;
  name: string;
  mobile: string | null;
  role: UserRole;
  status: UserStatus;
  emailVerified: boolean;
  /** ISO-8601 UTC. */
  createdAt: string;
  updatedAt: string;
}

export interface Preferences {
  emailNotifications: boolean;
  pushNotifications: boolean;
  smsNotifications: boolean;
  marketingEmails: boolean;
  language: string;
  timezone: string;
  pushToken: string | null;
}

export interface UsersGetRequest {
  id: string;
}
export type UsersGetReply = User | null;

export interface UsersGetManyRequest {
  /** Up to 100 UUIDs. */
  ids: string[];
}
/** The users found, in request order; unknown ids are left out. */
export type UsersGetManyReply = User[];

export interface VerifyTokenRequest {
  token: string;
}
export type InvalidTokenReason = 'expired' | 'tampered' | 'logged_out' | 'revoked' | 'blocked' | 'suspended' | 'deactivated';
export type VerifyTokenReply =
  | { valid: true; userId: string; role: UserRole; sessionId: string }
  | { valid: false; reason: InvalidTokenReason };

export interface PreferencesGetRequest {
  userId: string;
}
export type PreferencesGetReply = Preferences | null;

/** What a failed send() errors with. */
export interface UserServiceRpcError {
  /** The HTTP API's vocabulary: VALIDATION_FAILED, UNKNOWN_PATTERN, INTERNAL_ERROR, … */
  code: string;
  message: string;
  /** Field problems, for VALIDATION_FAILED. */
  errors?: { field: string; message: string }[];
}

export type NotificationChannel = 'email' | 'push' | 'sms';

export interface NotificationRequested {
  userId: string;
  channel: NotificationChannel;
  template: string;
  /** Whatever the template needs; handed on unchanged. */
  data?: Record<string, unknown>;
  /**
   * Makes the request idempotent: a second request with the same id is ignored.
   * Without it, the message's AMQP message-id, or else its content, stands in.
   */
  requestId?: string;
}

/** The data of every event beyond its own fields. */
export interface EventEnvelope {
  eventId: string;
  occurredAt: string;
  correlationId: string | null;
}

export interface NotificationDispatch extends EventEnvelope {
  channel: NotificationChannel;
  /** The email address, mobile number or push token. */
  to: string;
  template: string;
  data: Record<string, unknown>;
  userId: string;
  /** The user's BCP-47 language. */
  language: string;
  requestId: string;
}

export type NotificationSuppressedReason = 'unknown_user' | 'inactive' | 'opted_out' | 'no_address';

export interface NotificationSuppressed extends EventEnvelope {
  userId: string;
  channel: NotificationChannel;
  reason: NotificationSuppressedReason;
  requestId: string;
}

export type SessionEndReason =
  | 'logout'
  | 'logout_all'
  | 'user_revoked'
  | 'admin'
  | 'password_change'
  | 'password_reset'
  | 'blocked'
  | 'deactivated'
  | 'refresh_token_reuse'
  | 'session_limit';

/** The data of each published event, by name. */
export interface UserServiceEventData {
  'user.created': EventEnvelope & { user: User };
  'user.updated': EventEnvelope & { user: User; changed: string[] };
  'user.deleted': EventEnvelope & { userId: string };
  'user.status_changed': EventEnvelope & { userId: string; status: UserStatus; reason: string | null; until: string | null };
  'user.role_changed': EventEnvelope & { userId: string; role: UserRole };
  'user.email_verification_requested': EventEnvelope & { userId: string; email: string; name: string; token: string; expiresAt: string };
  'user.email_verified': EventEnvelope & { userId: string };
  'user.password_reset_requested': EventEnvelope & { userId: string; email: string; name: string; token: string; expiresAt: string };
  'user.password_changed': EventEnvelope & { userId: string };
  'preferences.updated': EventEnvelope & { userId: string; preferences: Preferences };
  'session.revoked': EventEnvelope & { userId: string; sessionId: string; reason: SessionEndReason; accessTokenExpiresAt: string };
  'notification.dispatch': NotificationDispatch;
  'notification.suppressed': NotificationSuppressed;
}
