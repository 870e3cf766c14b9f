import { Module } from '@nestjs/common';

import { Cursors } from '../../core/http/cursors.js';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AdminApiKeysService } from './admin-api-keys.service.js';
import { AdminAuditController } from './admin-audit.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminService } from './admin.service.js';
import { ApiKeysController } from './api-keys.controller.js';

/** The /admin routes (role admin) and, through AdminService, the operators' CLI. */
@Module({
  imports: [UsersModule, SessionsModule, AuthModule, AuditModule, ApiKeysModule],
  controllers: [AdminUsersController, AdminAuditController, ApiKeysController],
  providers: [AdminService, AdminApiKeysService, Cursors],
  exports: [AdminService, AdminApiKeysService],
})
export class AdminModule {}
