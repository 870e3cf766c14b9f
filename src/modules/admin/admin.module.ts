import { Module } from '@nestjs/common';

import { Cursors } from '../../core/http/cursors.js';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { SessionsModule } from '../auth/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AdminAuditController } from './admin-audit.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminService } from './admin.service.js';

/** The /admin routes (role admin) and, through AdminService, the operators' CLI. */
@Module({
  imports: [UsersModule, SessionsModule, AuthModule, AuditModule],
  controllers: [AdminUsersController, AdminAuditController],
  providers: [AdminService, Cursors],
  exports: [AdminService],
})
export class AdminModule {}
