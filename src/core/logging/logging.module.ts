import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CORRELATION_HEADER } from './correlation-id.js';

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

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // Fastify already chose the id (see correlation-id.ts) and left it on the header.
          genReqId: (req) => req.headers[CORRELATION_HEADER] as string,
          customAttributeKeys: { reqId: 'correlationId' },
          redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
          serializers: {
            req: (req: { method: string; url: string; remoteAddress?: string }) => ({
              method: req.method,
              url: req.url,
              remoteAddress: req.remoteAddress,
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
          customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
          quietReqLogger: true,
          // One line per request, written off the request path.
          stream: pino.destination({ dest: 1, sync: false }),
        },
        forRoutes: [{ path: '*splat', method: RequestMethod.ALL }],
      }),
    }),
  ],
})
export class LoggingModule {}
