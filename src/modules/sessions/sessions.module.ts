import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';

import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { AccessTokenCheck } from './access-token-check.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { SessionEntity } from './session.entity.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

/**
 * Sessions, refresh tokens and access token checks (the global guard). A
 * module of its own so that Users can end sessions without depending on Auth,
 * which depends on Users.
 */
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity, RefreshTokenEntity]), ApiKeysModule],
  controllers: [SessionsController],
  providers: [
    SessionsService,
    SessionsRepository,
    SessionRevocations,
    TokensService,
    JwtStrategy,
    AccessTokenCheck,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
  exports: [SessionsService, AccessTokenCheck],
})
export class SessionsModule {}
