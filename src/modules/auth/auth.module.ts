import { Module } from '@nestjs/common';

import { UsersModule } from '../users/users.module.js';
import { AccountRecoveryController } from './account-recovery.controller.js';
import { AccountRecoveryService } from './account-recovery.service.js';
import { AccountTokensRepository } from './account-tokens.repository.js';
import { AuthConsumer } from './auth.consumer.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { DevMailbox } from './dev-mailbox.js';
import { JwksController } from './jwks.controller.js';
import { LoginLockout } from './login-lockout.js';
import { SessionsModule } from '../sessions/sessions.module.js';

@Module({
  imports: [SessionsModule, UsersModule],
  controllers: [AuthController, AccountRecoveryController, JwksController, AuthConsumer],
  providers: [AuthService, AccountRecoveryService, AccountTokensRepository, LoginLockout, DevMailbox],
  exports: [AccountRecoveryService],
})
export class AuthModule {}
