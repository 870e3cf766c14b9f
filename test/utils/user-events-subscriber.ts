import { randomBytes } from 'node:crypto';

import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';

import { userEventsSubscriberOptions } from '../../src/client-kit/user-service.client.js';
import { UserServiceEvents, type UserServiceEventData } from '../../src/client-kit/user-service.messages.js';
import { deleteBrokerObjects } from './test-app.js';

export interface ReceivedNotification<Name extends 'notification.dispatch' | 'notification.suppressed'> {
  name: Name;
  data: UserServiceEventData[Name];
}

type Received = ReceivedNotification<'notification.dispatch'> | ReceivedNotification<'notification.suppressed'>;

const received: Received[] = [];

@Controller()
class NotificationEventsController {
  @EventPattern(UserServiceEvents.notificationDispatch)
  dispatch(@Payload() data: UserServiceEventData['notification.dispatch']): void {
    received.push({ name: 'notification.dispatch', data });
  }

  @EventPattern(UserServiceEvents.notificationSuppressed)
  suppressed(@Payload() data: UserServiceEventData['notification.suppressed']): void {
    received.push({ name: 'notification.suppressed', data });
  }
}

@Module({ controllers: [NotificationEventsController] })
class NotificationEventsModule {}

/**
 * A real Nest RMQ consumer of the notification outcomes, as a notifications
 * service would run one: its own queue bound to the events exchange through
 * the client kit's subscriber options.
 */
export class NotificationEventsSubscriber {
  private constructor(
    private readonly app: INestMicroservice,
    private readonly queue: string,
  ) {}

  static async start(url: string, exchange: string): Promise<NotificationEventsSubscriber> {
    const queue = `notifications-test.${randomBytes(4).toString('hex')}`;
    const app = await NestFactory.createMicroservice(NotificationEventsModule, { ...userEventsSubscriberOptions(url, queue, exchange), logger: false });
    await app.listen();
    return new NotificationEventsSubscriber(app, queue);
  }

  /** What arrived for a user, in arrival order. */
  for(userId: string): Received[] {
    return received.filter((event) => event.data.userId === userId);
  }

  async waitFor(userId: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.for(userId).length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} notification event(s) for ${userId}, got ${JSON.stringify(this.for(userId))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.for(userId);
  }

  async stop(): Promise<void> {
    await this.app.close();
    await deleteBrokerObjects(undefined, this.queue);
  }
}
