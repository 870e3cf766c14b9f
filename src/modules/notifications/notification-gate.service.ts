import { createHash } from 'node:crypto';

import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';

import type { NotificationSuppressedReason } from '../../client-kit/user-service.messages.js';
import { EventPublisher } from '../../core/messaging/event-publisher.js';
import { PreferencesService } from '../preferences/preferences.service.js';
import type { PreferencesResponse } from '../preferences/dto/preferences.dto.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import type { NotificationRequestedMessage } from './dto/notification.dto.js';
import { NotificationRequestsRepository } from './notification-requests.repository.js';
import { NotificationEvents } from './notifications.events.js';

/** Long past any redelivery of the same request. */
const REQUEST_RETENTION_SECONDS = 7 * 86_400;
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 10_000;

const OPTED_IN: Record<NotificationRequestedMessage['channel'], keyof PreferencesResponse> = {
  email: 'emailNotifications',
  push: 'pushNotifications',
  sms: 'smsNotifications',
};

/** What a request is known by: its requestId, else the AMQP message-id, else a digest of the message itself. */
export function requestKeyOf(request: { requestId?: string }, message: { content: Buffer; properties: { messageId?: unknown } }): string {
  if (request.requestId) return `id:${request.requestId}`;
  const messageId = message.properties.messageId;
  if (typeof messageId === 'string' && messageId.length > 0 && messageId.length <= 128) return `message-id:${messageId}`;
  return `sha256:${createHash('sha256').update(message.content).digest('hex')}`;
}

type Decision = { to: string; language: string } | { reason: NotificationSuppressedReason };

/**
 * notification.requested → notification.dispatch (the address for the
 * channel and the user's language) or notification.suppressed (why not). The
 * outcome is recorded with the request's key in the transaction that writes
 * the event to the outbox, so a redelivered request neither dispatches nor
 * suppresses twice, and a crash between the two loses nothing.
 */
@Injectable()
export class NotificationGateService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Notifications');
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly requests: NotificationRequestsRepository,
    private readonly users: UsersService,
    private readonly preferences: PreferencesService,
    private readonly events: EventPublisher,
  ) {}

  /** Returns the outcome, or 'duplicate' when the request had been handled before. */
  async handle(request: NotificationRequestedMessage, key: string): Promise<'dispatch' | NotificationSuppressedReason | 'duplicate'> {
    // Read fresh (not the cached profile): a user blocked a moment ago must not be written to.
    const user = await this.users.findById(request.userId);
    const decision = this.decide(request, user, user ? await this.preferences.find(user.id) : null);
    const outcome = 'reason' in decision ? decision.reason : 'dispatch';
    const claimed = await this.requests.transaction(async (manager) => {
      if (!(await this.requests.claim(manager, key, request, outcome))) return false;
      const requestId = request.requestId ?? key;
      const event =
        'reason' in decision
          ? NotificationEvents.suppressed({ userId: request.userId, channel: request.channel, reason: decision.reason, requestId })
          : NotificationEvents.dispatch({
              channel: request.channel,
              to: decision.to,
              template: request.template,
              data: request.data ?? {},
              userId: request.userId,
              language: decision.language,
              requestId,
            });
      await this.events.record(manager, event);
      return true;
    });
    return claimed ? outcome : 'duplicate';
  }

  private decide(request: NotificationRequestedMessage, user: UserEntity | null, preferences: PreferencesResponse | null): Decision {
    if (!user || !preferences) return { reason: 'unknown_user' };
    if (user.status !== 'active') return { reason: 'inactive' };
    if (!preferences[OPTED_IN[request.channel]]) return { reason: 'opted_out' };
    const to = request.channel === 'email' ? user.email : request.channel === 'sms' ? user.mobile : preferences.pushToken;
    if (!to) return { reason: 'no_address' };
    return { to, language: preferences.language };
  }

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruneTimer);
  }

  private async prune(): Promise<void> {
    try {
      await this.requests.pruneOlderThan(REQUEST_RETENTION_SECONDS, PRUNE_BATCH);
    } catch (error) {
      this.logger.warn({ err: error }, 'old notification requests could not be pruned; trying again later');
    }
  }
}
