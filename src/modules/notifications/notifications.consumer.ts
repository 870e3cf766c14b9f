import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';

import { UserServiceInbox } from '../../client-kit/user-service.messages.js';
import { RpcErrorFilter } from '../../core/errors/rpc-error.filter.js';
import { NotificationRequestedMessage } from './dto/notification.dto.js';
import { NotificationGateService, requestKeyOf } from './notification-gate.service.js';

/** notification.requested, emitted by any service to the user-service queue. */
@Controller()
@UseFilters(RpcErrorFilter)
export class NotificationsConsumer {
  constructor(private readonly gate: NotificationGateService) {}

  @EventPattern(UserServiceInbox.notificationRequested)
  // Nest 12 types handler arguments after the payload as unknown.
  async requested(@Payload() request: NotificationRequestedMessage, @Ctx() context: unknown): Promise<void> {
    const message = (context as RmqContext).getMessage() as ConsumeMessage;
    await this.gate.handle(request, requestKeyOf(request, message));
  }
}
