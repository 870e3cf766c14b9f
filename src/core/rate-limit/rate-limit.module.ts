import { Global, Module } from '@nestjs/common';
import { seconds, ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { FastifyRequest } from 'fastify';

import type { AuthApiKey, AuthUser } from '../auth/auth.decorators.js';
import type { AppConfig, RateLimitRule } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { FailoverThrottlerStorage, RateLimitGuard } from './rate-limit.js';

const rule = (name: string, { limit, windowSeconds }: RateLimitRule) => ({ name, limit, ttl: seconds(windowSeconds) });

/** Limits per account named in the body (login, password recovery), against guessing spread over many addresses. */
function accountTracker(request: Record<string, unknown>): string {
  const body = (request as unknown as FastifyRequest).body as { email?: unknown } | undefined;
  return typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
}

/** Limits per signed-in user (the guards have set request.user by then). */
function userTracker(request: Record<string, unknown>): string {
  return (request as { user?: AuthUser }).user?.userId ?? (request as unknown as FastifyRequest).ip;
}

/** Limits per service API key (the guard has set request.apiKey by then). */
const apiKeyOf = (request: unknown) => (request as { apiKey?: AuthApiKey }).apiKey;

@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          rule('register', config.rateLimits.register),
          rule('login', config.rateLimits.login),
          rule('refresh', config.rateLimits.refresh),
          { ...rule('verification-resend', config.rateLimits.verificationResend), getTracker: userTracker },
          rule('password-forgot', config.rateLimits.passwordForgot),
          { ...rule('password-forgot-account', config.rateLimits.passwordForgotPerAccount), getTracker: accountTracker },
          rule('password-reset', config.rateLimits.passwordReset),
          { ...rule('password-change', config.rateLimits.passwordChange), getTracker: userTracker },
          {
            ...rule('api-key', config.rateLimits.apiKey),
            // Only requests made with an API key count, and one limit spans every route of the key.
            skipIf: (context) => !apiKeyOf(context.switchToHttp().getRequest()),
            getTracker: (request) => apiKeyOf(request)!.apiKeyId,
            generateKey: (_context, tracker, name) => `${name}:${tracker}`,
          },
        ],
        storage: config.redisUrl
          ? new FailoverThrottlerStorage(
              new ThrottlerStorageRedisService(config.redisUrl, {
                keyPrefix: `${config.redisKeyPrefix}:rate-limit:`,
                enableOfflineQueue: false,
                maxRetriesPerRequest: 1,
                lazyConnect: false,
              }),
            )
          : undefined,
      }),
    }),
  ],
  providers: [RateLimitGuard],
  exports: [RateLimitGuard],
})
export class RateLimitModule {}
