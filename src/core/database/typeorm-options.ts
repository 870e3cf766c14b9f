import { AdvancedConsoleLogger, type DataSourceOptions } from 'typeorm';

import { migrations } from '../../../migrations/index.js';
import { SessionEntity } from '../../modules/sessions/session.entity.js';
import { RefreshTokenEntity } from '../../modules/sessions/refresh-token.entity.js';
import { UserPreferencesEntity } from '../../modules/preferences/user-preferences.entity.js';
import { UserEntity } from '../../modules/users/user.entity.js';
import { IdempotencyKeyEntity } from '../idempotency/idempotency-key.entity.js';

/**
 * TypeORM's loggers write a query with its parameters beside it (emails,
 * password hashes, token hashes), and write slow queries whatever `logging`
 * says. This one writes no query at all: a failing query reaches the log as the
 * error it throws, through the error serializer (core/logging), and the rest
 * (migration progress) goes to the console as before.
 */
class NoQueryLogger extends AdvancedConsoleLogger {
  override logQuery(): void {}
  override logQueryError(): void {}
  override logQuerySlow(): void {}
}

export const entities = [UserEntity, UserPreferencesEntity, SessionEntity, RefreshTokenEntity, IdempotencyKeyEntity];

/** The one set of TypeORM options, shared by the app and the migration CLI. */
export function buildDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    migrationsTableName: 'migrations',
    // The schema changes only through reviewed migrations, run under a lock.
    synchronize: false,
    migrationsRun: false,
    logging: false,
    logger: new NoQueryLogger(false),
    extra: { max: 20, application_name: 'user-service' },
  };
}
