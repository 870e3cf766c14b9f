import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { PreferencesModule } from '../preferences/preferences.module.js';
import { AccountController } from './account.controller.js';
import { AccountService } from './account.service.js';
import { SuspensionSweep } from './suspension-sweep.js';
import { UserEntity } from './user.entity.js';
import { UsersConsumer } from './users.consumer.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([UserEntity]), SessionsModule, PreferencesModule, AuditModule],
  controllers: [UsersController, AccountController, UsersConsumer],
  providers: [UsersRepository, UsersService, AccountService, SuspensionSweep],
  exports: [UsersService],
})
export class UsersModule {}
