import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { JwtAuthGuard, RouteAccessRules } from './auth.guards.js';
import { PasswordHasher } from './password-hasher.js';
import { JWT_ALGORITHM, loadSigningKeys, SigningKeys } from './signing-keys.js';

/** Keys, token signing and the global guard (authentication, then roles). */
@Global()
@Module({
  imports: [
    PassportModule,
    JwtModule.registerAsync({
      inject: [SigningKeys, APP_CONFIG],
      extraProviders: [{ provide: SigningKeys, inject: [APP_CONFIG], useFactory: loadSigningKeys }],
      useFactory: (keys: SigningKeys, config: AppConfig) => ({
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        signOptions: {
          algorithm: JWT_ALGORITHM,
          keyid: keys.kid,
          issuer: config.jwt.issuer,
          audience: config.jwt.audience,
          expiresIn: config.jwt.accessTtlSeconds,
        },
        verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: config.jwt.issuer, audience: config.jwt.audience },
      }),
    }),
  ],
  providers: [
    { provide: SigningKeys, inject: [APP_CONFIG], useFactory: loadSigningKeys },
    PasswordHasher,
    RouteAccessRules,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
  exports: [SigningKeys, JwtModule, PasswordHasher],
})
export class CoreAuthModule {}
