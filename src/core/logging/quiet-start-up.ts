import type { LoggerService } from '@nestjs/common';

/**
 * Nest writes a line per module and per route while it starts (about 45), and
 * its route map names paths that do not exist (`/api/auth/register (version: 1)`
 * is /api/v1/auth/register). At info they bury what a person needs; at debug
 * (LOG_LEVEL=debug) they stay available.
 */
const START_UP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication', 'NestMicroservice']);

export function quietStartUp(logger: LoggerService): LoggerService {
  const isStartUp = (params: unknown[]) => {
    const context = params.at(-1);
    return typeof context === 'string' && START_UP_CONTEXTS.has(context);
  };
  return {
    log: (message: unknown, ...params: unknown[]) => (isStartUp(params) ? logger.debug?.(message, ...params) : logger.log(message, ...params)),
    error: (message: unknown, ...params: unknown[]) => logger.error(message, ...params),
    warn: (message: unknown, ...params: unknown[]) => logger.warn(message, ...params),
    debug: (message: unknown, ...params: unknown[]) => logger.debug?.(message, ...params),
    verbose: (message: unknown, ...params: unknown[]) => logger.verbose?.(message, ...params),
    fatal: (message: unknown, ...params: unknown[]) => logger.fatal?.(message, ...params),
  };
}
