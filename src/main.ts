import './core/runtime/require-node.js';
import 'reflect-metadata';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';

import { createApp } from './app.js';
import { type AppConfig, ConfigError, loadConfig } from './core/config/config.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './core/database/embedded-postgres.js';
import { SERVICE } from './core/runtime/service-info.js';

async function main(): Promise<void> {
  const config = loadConfig();
  let embedded: EmbeddedDatabase | undefined;
  if (!config.databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedDatabasePort, console.error);
    config.databaseUrl = embedded.url;
  }
  const stopEmbedded = embedded?.stop;

  let app: NestFastifyApplication | undefined;
  try {
    app = await createApp(config, { logDestination: await terminalLogs(config) });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app?.close().catch(() => undefined);
    await stopEmbedded?.().catch(() => undefined);
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new ConfigError(
          `Port ${config.port} is in use (another user service already running?): stop that one, or start this one with PORT=<another port>.`,
        )
      : error;
  }
  const started = app;
  console.log(readyBanner(config, Boolean(embedded)));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await started.close();
    await stopEmbedded?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * Readable lines for a person at a terminal (pino-pretty, a development
 * dependency); JSON lines in production and whenever stdout is a pipe or a
 * file, which is what log collectors read.
 */
async function terminalLogs(config: AppConfig): Promise<DestinationStream | undefined> {
  if (!process.stdout.isTTY || config.nodeEnv === 'production' || process.env.LOG_FORMAT === 'json') return undefined;
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  } catch {
    return undefined; // installed without development dependencies: JSON it is
  }
}

/**
 * Printed last, once the service answers. In development: where everything
 * is and what runs in-process instead of a real dependency. In production one
 * line, since the deployment already knows the rest.
 */
function readyBanner(config: AppConfig, embeddedDatabase: boolean): string {
  const base = `http://localhost:${config.port}`;
  if (config.nodeEnv === 'production') return `User service ${SERVICE.version} ready on port ${config.port}`;
  const row = (name: string, value: string) => `  ${name.padEnd(9)}${value}`;
  return [
    '',
    `User service ${SERVICE.version} ready (${config.nodeEnv}, Node.js ${process.version})`,
    row('API', `${base}/api/v1`),
    row('Docs', `${base}/docs  (OpenAPI ${base}/docs-json, AsyncAPI ${base}/asyncapi.json)`),
    row('Health', `${base}/api/v1/health/ready`),
    ...(config.admin.consoleEnabled ? [row('Console', `${base}/console  (admin console; sign in with an admin account)`)] : []),
    row('Database', embeddedDatabase ? `embedded PostgreSQL on 127.0.0.1:${config.embeddedDatabasePort}, data in ${config.dataDir}` : 'DATABASE_URL'),
    row('Cache', config.redisUrl ? 'REDIS_URL' : 'in-process cache and rate limiter (no REDIS_URL: one replica only)'),
    row('Broker', config.rabbitmqUrl ? 'RABBITMQ_URL' : 'none (no RABBITMQ_URL): events wait in the database'),
    ...(config.tokens.printMail ? [row('Mail', 'verification and reset mails are printed here (PRINT_MAIL)')] : []),
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else if (error instanceof Error) {
    console.error('Failed to start:', error.stack ?? error.message);
  } else {
    console.error('Failed to start:', String(error));
  }
  process.exit(1);
});
