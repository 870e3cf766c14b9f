import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { RouteAccessRules } from './route-access.js';
import { PasswordHasher } from './password-hasher.js';
import { JWT_ALGORITHM, loadSigningKeys, SigningKeys } from './signing-keys.js';

/** Keys, token signing, password hashing and the routes' access rules (the guard is in SessionsModule). */
@Global()
@Module({
  imports: [
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
  ],
  exports: [SigningKeys, JwtModule, PasswordHasher, RouteAccessRules],
})
export class CoreAuthModule {}
