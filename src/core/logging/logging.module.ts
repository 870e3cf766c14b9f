import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger, stdSerializers } from 'pino';

import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { errorLogging } from './error-serializer.js';
import { RequestContext } from './request-context.js';

/**
 * Anything that could hold a secret is censored wherever it appears in a log
 * object; request bodies are never logged at all.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
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
 * The logger of the one line per request (written by the onResponse hook in
 * app.ts). Its fields are fixed and hold no secret (the path without its query
 * string, never headers or bodies), so it skips the wildcard redaction, which
 * cost more than the rest of the line.
 */
export abstract class RequestLog {
  abstract readonly logger: Logger;
}

/**
 * Written in the background, as buffers: given strings, sonic-boom measures
 * its growing pending text again on every line, which cost more than
 * encoding each line (about 4% of a whole health check).
 */
function stdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' });
  return {
    // In buffer mode it takes buffers, whatever its types say.
    write: (line: string) => stream.write(Buffer.from(line) as unknown as string),
    flush: (done: (error?: Error) => void) => stream.flush(done),
  } as DestinationStream;
}

/**
 * JSON logs through pino (Nest's Logger included), to stdout. No per-request
 * middleware: every line written while a request is handled carries its
 * correlation id (RequestContext). Errors are written only as serializeError
 * shapes them (error-serializer.ts), whichever logger writes them.
 */
@Global()
@Module({})
export class LoggingModule {
  /** Logs go to stdout unless a destination is given (tests read what is logged). */
  static forRoot(destination: DestinationStream = stdout()): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG, RequestContext],
          useFactory: (config: AppConfig, context: RequestContext) => ({
            pinoHttp: {
              level: config.logLevel,
              redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
              ...errorLogging,
              // pino-http would hand our `err` serializer the output of pino's own,
              // which has already copied every property of the error.
              wrapSerializers: false,
              serializers: { ...errorLogging.serializers, req: stdSerializers.req, res: stdSerializers.res },
              mixin: () => {
                const correlationId = context.correlationId();
                return correlationId ? { correlationId } : {};
              },
              stream: destination,
            },
            forRoutes: [],
          }),
        }),
      ],
      providers: [
        RequestContext,
        {
          provide: RequestLog,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): RequestLog => ({ logger: pino({ level: config.logLevel, ...errorLogging }, destination) }),
        },
      ],
      exports: [RequestContext, RequestLog],
    };
  }
}
