import { Global, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { type AppConfig, ConfigError } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { pendingMigrationNames, runMigrationsLocked } from './migrator.js';
import { buildDataSourceOptions } from './typeorm-options.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (!config.databaseUrl) throw new Error('databaseUrl must be resolved before the app starts');
        return { ...buildDataSourceOptions(config.databaseUrl), retryAttempts: 3, retryDelay: 1000 };
      },
    }),
  ],
})
export class DatabaseModule implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.migrationsOnStart) {
      // A deployment step (the chart's hook Job) migrates first; a replica on an older schema would answer 500s.
      const pending = await pendingMigrationNames(this.dataSource);
      if (pending.length > 0) {
        throw new ConfigError(
          `MIGRATIONS_ON_START=false and ${pending.length} migration(s) are pending (${pending.join(', ')}): run them first with node dist/src/cli/migrate.js run`,
        );
      }
      return;
    }
    const applied = await runMigrationsLocked(this.dataSource);
    if (applied.length > 0) this.logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
  }
}
