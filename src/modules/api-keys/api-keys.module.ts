import { Module } from '@nestjs/common';

import { ApiKeyCheck } from './api-key-check.js';
import { ApiKeyUsage } from './api-key-usage.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';

/**
 * Service API keys (X-API-Key): their table, the check the global guard runs
 * on the routes that accept a key, and their lastUsedAt. Managed through the
 * admin module (HTTP and CLI).
 */
@Module({
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyCheck, ApiKeyUsage],
  exports: [ApiKeysService, ApiKeyCheck],
})
export class ApiKeysModule {}
