import '../core/runtime/require-node.js';
import 'reflect-metadata';

import { DataSource } from 'typeorm';

import { ConfigError, loadConfig } from '../core/config/config.js';
import { startEmbeddedPostgres } from '../core/database/embedded-postgres.js';
import { revertLastMigrationLocked, runMigrationsLocked } from '../core/database/migrator.js';
import { buildDataSourceOptions } from '../core/database/typeorm-options.js';

/** npm run migration:run | migration:revert — against DATABASE_URL, or the embedded server outside production. */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'run' && command !== 'revert') throw new Error('usage: migrate run|revert');
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.embeddedDatabasePort);
  const dataSource = new DataSource(buildDataSourceOptions(config.databaseUrl ?? embedded!.url));
  await dataSource.initialize();
  try {
    if (command === 'run') {
      const applied = await runMigrationsLocked(dataSource);
      console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'no pending migrations');
    } else {
      await revertLastMigrationLocked(dataSource);
      console.log('reverted the last migration');
    }
  } finally {
    await dataSource.destroy();
    await embedded?.stop();
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
