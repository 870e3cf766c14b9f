import type { DataSourceOptions } from 'typeorm';

import { migrations } from '../../../migrations/index.js';
import { SessionEntity } from '../../modules/auth/session.entity.js';
import { RefreshTokenEntity } from '../../modules/auth/refresh-token.entity.js';
import { UserPreferencesEntity } from '../../modules/preferences/user-preferences.entity.js';
import { UserEntity } from '../../modules/users/user.entity.js';
import { IdempotencyKeyEntity } from '../idempotency/idempotency-key.entity.js';

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
    extra: { max: 20, application_name: 'user-service' },
  };
}
