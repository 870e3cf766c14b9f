import './core/runtime/require-node.js';
import 'reflect-metadata';

import type { DestinationStream } from 'pino';

import { createApp } from './app.js';
import { type AppConfig, ConfigError, loadConfig } from './core/config/config.js';
import { startEmbeddedPostgres } from './core/database/embedded-postgres.js';

async function main(): Promise<void> {
  const config = loadConfig();
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!config.databaseUrl) {
    const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedDatabasePort, console.error);
    config.databaseUrl = embedded.url;
    stopEmbedded = embedded.stop;
    console.log(`No DATABASE_URL: embedded PostgreSQL listening on 127.0.0.1:${config.embeddedDatabasePort} (data in ${config.dataDir})`);
  }

  const app = await createApp(config, { logDestination: await terminalLogs(config) });
  await app.listen({ port: config.port, host: config.host });
  const base = `http://localhost:${config.port}`;
  console.log(`User service listening: API ${base}/api/v1, docs ${base}/docs`);
  if (!config.redisUrl) console.log('No REDIS_URL: in-process cache and rate limiter (one replica only)');
  if (!config.rabbitmqUrl) console.log('No RABBITMQ_URL: no broker; events wait in the database');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await app.close();
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

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('Failed to start:', error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
