import { DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';

import type { AppConfig } from './core/config/config.js';
import { CoreModule } from './core/core.module.js';
import { AdminModule } from './modules/admin/admin.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { NotificationsModule } from './modules/notifications/notifications.module.js';
import { PreferencesModule } from './modules/preferences/preferences.module.js';
import { UsersModule } from './modules/users/users.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return { module: AppModule, imports: [CoreModule.forRoot(config, logDestination), AuthModule, UsersModule, PreferencesModule, NotificationsModule, AdminModule, HealthModule] };
  }
}
