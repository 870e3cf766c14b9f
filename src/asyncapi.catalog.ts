import type { UserServiceEvent, UserServiceInbox, UserServicePattern } from './client-kit/user-service.messages.js';
import type { AppConfig } from './core/config/config.js';
import { RpcErrorReply } from './core/errors/rpc-error.filter.js';
import type { CatalogEvent, CatalogPattern, MessagingCatalog } from './core/messaging/asyncapi.js';
import { EventEnvelopeData } from './core/messaging/event-envelope.dto.js';
import { EmailVerifiedData, MailedTokenData, SessionRevokedData } from './modules/auth/dto/auth-events.dto.js';
import { InvalidTokenReply, ValidTokenReply, VerifyTokenMessage } from './modules/auth/dto/verify-token.dto.js';
import {
  NotificationDispatchData,
  NotificationRequestedMessage,
  NotificationSuppressedData,
} from './modules/notifications/dto/notification.dto.js';
import { PreferencesUpdatedData } from './modules/preferences/dto/preferences-events.dto.js';
import { GetPreferencesMessage } from './modules/preferences/dto/preferences-messages.dto.js';
import { PreferencesResponse } from './modules/preferences/dto/preferences.dto.js';
import {
  UserCreatedData,
  UserDeletedData,
  UserPasswordChangedData,
  UserRoleChangedData,
  UserStatusChangedData,
  UserUpdatedData,
} from './modules/users/dto/user-events.dto.js';
import { GetUserMessage, GetUsersMessage } from './modules/users/dto/user-messages.dto.js';
import { UserResponse } from './modules/users/dto/user.response.js';

// Every event and message pattern of the contract's Messaging section, with
// the classes its code uses, for /asyncapi.json. Keyed by the client kit's
// names: an event or pattern added there and not here fails the type check.

const published: Record<UserServiceEvent, Omit<CatalogEvent, 'name'>> = {
  'user.created': { data: UserCreatedData, summary: 'An account was created (registration, an admin, or the bootstrap admin).' },
  'user.updated': { data: UserUpdatedData, summary: "A user's profile changed." },
  'user.deleted': { data: UserDeletedData, summary: 'The user closed their account: it is deactivated and its sessions have ended.' },
  'user.status_changed': { data: UserStatusChangedData, summary: "An account's status changed (an admin's block, suspension or reactivation, or a suspension's end)." },
  'user.role_changed': { data: UserRoleChangedData, summary: "An account's role changed." },
  'user.email_verification_requested': {
    data: MailedTokenData,
    summary: 'Mail the user a link to verify their email address.',
    description: 'For the mailer: `token` goes into the link and nowhere else.',
  },
  'user.email_verified': { data: EmailVerifiedData, summary: 'The user verified their email address.' },
  'user.password_reset_requested': {
    data: MailedTokenData,
    summary: 'Mail the user a link to reset their password.',
    description: 'For the mailer: `token` goes into the link and nowhere else.',
  },
  'user.password_changed': { data: UserPasswordChangedData, summary: "The user's password changed (a change or a reset)." },
  'preferences.updated': { data: PreferencesUpdatedData, summary: "A user's preferences changed." },
  'session.revoked': {
    data: SessionRevokedData,
    summary: 'A session ended before its time: deny its access tokens until accessTokenExpiresAt.',
    description:
      'Published for logout, logout of all sessions, a session the user or an admin ended, a password change or reset, ' +
      'a block or deactivation, refresh-token reuse and the session limit, so a gateway can refuse the access tokens the session still holds.',
  },
  'notification.dispatch': {
    data: NotificationDispatchData,
    summary: 'Send this notification: the user is active, opted in to the channel and has an address for it.',
    description: 'The answer to a notification.requested that passed the gate; `to` is the address on that channel.',
  },
  'notification.suppressed': {
    data: NotificationSuppressedData,
    summary: 'A notification.requested that is not to be sent, and why.',
  },
};

const consumed: Record<(typeof UserServiceInbox)[keyof typeof UserServiceInbox], Omit<CatalogEvent, 'name'>> = {
  'notification.requested': {
    data: NotificationRequestedMessage,
    summary: 'Ask for a notification to a user: the service answers with notification.dispatch or notification.suppressed.',
    description:
      'Emit it (`ClientProxy.emit`) to the service queue. The service checks that the user is active, opted in to the channel ' +
      'and has an address for it. A repeat (same requestId, else same AMQP message-id, else same content) is ignored. ' +
      'An invalid one is dead-lettered.',
  },
};

const patterns: Record<UserServicePattern, Omit<CatalogPattern, 'name'>> = {
  'users.get': { request: GetUserMessage, reply: { nullable: UserResponse }, summary: 'A user by id, or null.' },
  'users.get_many': {
    request: GetUsersMessage,
    reply: { arrayOf: UserResponse },
    summary: 'Up to 100 users by id: those found, in request order.',
  },
  'auth.verify_token': {
    request: VerifyTokenMessage,
    reply: { oneOf: [ValidTokenReply, InvalidTokenReply] },
    summary: 'Whether an access token is admitted (revoked tokens are not), and whose it is, or why not.',
  },
  'preferences.get': { request: GetPreferencesMessage, reply: { nullable: PreferencesResponse }, summary: "A user's preferences, or null." },
};

const listed = <T>(entries: Record<string, T>) => Object.entries(entries).map(([name, entry]) => ({ name, ...entry }));

export function messagingCatalog(names: Pick<AppConfig['messaging'], 'eventsExchange' | 'serviceQueue' | 'deadLetterQueue'>): MessagingCatalog {
  return {
    title: 'User service messaging',
    version: '1',
    description:
      'The events the user service publishes, the request/response message patterns it serves and the events it consumes, on RabbitMQ ' +
      "through Nest's RMQ transport. The HTTP API is described at /docs (OpenAPI at /docs-json).",
    server: {
      host: 'localhost:5672',
      protocol: 'amqp',
      protocolVersion: '0.9.1',
      description: "The platform's RabbitMQ (the service's RABBITMQ_URL; localhost:5672 in development).",
    },
    eventsExchange: names.eventsExchange,
    serviceQueue: names.serviceQueue,
    deadLetterQueue: names.deadLetterQueue,
    envelope: EventEnvelopeData,
    errorReply: RpcErrorReply,
    // The global ValidationPipe (whitelist, forbidNonWhitelisted) runs for message handlers too (inheritAppConfig).
    rejectsUnknownFields: true,
    published: listed(published),
    consumed: listed(consumed),
    patterns: listed(patterns),
  };
}
