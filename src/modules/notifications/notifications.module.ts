import { Module } from '@nestjs/common';

import { PreferencesModule } from '../preferences/preferences.module.js';
import { UsersModule } from '../users/users.module.js';
import { NotificationGateService } from './notification-gate.service.js';
import { NotificationRequestsRepository } from './notification-requests.repository.js';
import { NotificationsConsumer } from './notifications.consumer.js';

/** Notification gating: whether, and where, a notification another service asks for may go. */
@Module({
  imports: [UsersModule, PreferencesModule],
  controllers: [NotificationsConsumer],
  providers: [NotificationGateService, NotificationRequestsRepository],
})
export class NotificationsModule {}
