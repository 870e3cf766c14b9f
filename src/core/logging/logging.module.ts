import { Module } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * Anything that could hold a secret is censored wherever it appears in a log
 * object; request bodies are never logged at all.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.passwordHash',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
];

/**
 * JSON logs through pino (Nest's Logger included). No per-request middleware:
 * the correlation id comes from the request's CLS context on every line, and
 * the one line per request is written by the onResponse hook (app.ts).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG, ClsService],
      useFactory: (config: AppConfig, cls: ClsService) => ({
        pinoHttp: {
          level: config.logLevel,
          redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
          mixin: () => (cls.isActive() && cls.getId() ? { correlationId: cls.getId() } : {}),
          // Written off the request path, in the background.
          stream: pino.destination({ dest: 1, sync: false }),
        },
        forRoutes: [],
      }),
    }),
  ],
})
export class LoggingModule {}
