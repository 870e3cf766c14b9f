import { loadConfig } from '../core/config/config.js';
import type { InvalidTokenReply, ValidTokenReply, VerifyTokenVerdict } from '../modules/auth/dto/verify-token.dto.js';
import type { NotificationDispatchData, NotificationSuppressedData } from '../modules/notifications/dto/notification.dto.js';
import { NotificationEvents } from '../modules/notifications/notifications.events.js';
import type { PreferencesResponse } from '../modules/preferences/dto/preferences.dto.js';
import { PreferencesEvents } from '../modules/preferences/preferences.events.js';
import type { UserResponse } from '../modules/users/dto/user.response.js';
import { UserEvents } from '../modules/users/users.events.js';
import { AuthEvents } from '../modules/auth/auth.events.js';
import {
  type NotificationDispatch,
  type NotificationSuppressed,
  type Preferences,
  type User,
  USER_EVENTS_EXCHANGE,
  USER_SERVICE_DEAD_LETTER_QUEUE,
  USER_SERVICE_QUEUE,
  UserServiceEvents,
  type VerifyTokenReply,
} from './user-service.messages.js';

// The kit's types are written out by hand (so the folder stands alone): these fail to compile if they drift from the server's classes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShapes: [
  Same<User, UserResponse>,
  Same<Preferences, PreferencesResponse>,
  Same<VerifyTokenReply, VerifyTokenVerdict>,
  Same<Extract<VerifyTokenReply, { valid: true }>, ValidTokenReply>,
  Same<Extract<VerifyTokenReply, { valid: false }>, InvalidTokenReply>,
  Same<Omit<NotificationDispatch, 'eventId' | 'occurredAt' | 'correlationId'>, NotificationDispatchData>,
  Same<Omit<NotificationSuppressed, 'eventId' | 'occurredAt' | 'correlationId'>, NotificationSuppressedData>,
] = [true, true, true, true, true, true, true];

describe('client kit', () => {
  it('has the same shapes as the server (checked at compile time)', () => {
    expect(sameShapes.every(Boolean)).toBe(true);
  });

  it("names the queue, exchange and dead-letter queue as the service's defaults do", () => {
    const { messaging } = loadConfig({});
    expect([USER_SERVICE_QUEUE, USER_EVENTS_EXCHANGE, USER_SERVICE_DEAD_LETTER_QUEUE]).toEqual([
      messaging.serviceQueue,
      messaging.eventsExchange,
      messaging.deadLetterQueue,
    ]);
  });

  it('lists exactly the events the modules publish', () => {
    const factories = [UserEvents, AuthEvents, PreferencesEvents, NotificationEvents].flatMap(
      (events) => Object.values(events) as ((...args: never[]) => { name: string })[],
    );
    const published = factories.map((factory) => factory(...([{ userId: 'u', id: 'u' }, {}, null, new Date()] as never[])).name);
    expect(new Set(published)).toEqual(new Set(Object.values(UserServiceEvents)));
  });
});
