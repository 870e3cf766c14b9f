import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import type { ApiKeyScope } from '../../core/auth/auth.decorators.js';
import type { Keyset } from '../../core/http/cursors.js';
import { generateApiKey } from './api-key-format.js';
import { ApiKeyCheck } from './api-key-check.js';
import { type ApiKey, ApiKeysRepository } from './api-keys.repository.js';

export type { ApiKey } from './api-keys.repository.js';

/** Prefixes are 8 random characters (36^8): a second collision in a row means something else is wrong. */
const PREFIX_ATTEMPTS = 3;

/** Service API keys: made, listed and revoked here (the rules and the audit are the admin module's). */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly check: ApiKeyCheck,
  ) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.keys.transaction(work);
  }

  /** Creates a key in the caller's transaction: the stored key and the whole key, which exists nowhere else. */
  async createWithin(
    manager: EntityManager,
    key: { name: string; scopes: ApiKeyScope[]; expiresAt: Date | null; createdBy: string | null },
  ): Promise<{ apiKey: ApiKey; key: string }> {
    for (let attempt = 1; ; attempt += 1) {
      const generated = generateApiKey();
      const apiKey = await this.keys.insertWithin(manager, { ...key, prefix: generated.prefix, secretHash: generated.secretHash });
      if (apiKey) return { apiKey, key: generated.key };
      if (attempt === PREFIX_ATTEMPTS) throw new Error(`no free API key prefix in ${PREFIX_ATTEMPTS} attempts`);
    }
  }

  list(after: Keyset | undefined, limit: number): Promise<{ keys: ApiKey[]; next?: Keyset }> {
    return this.keys.listNewestFirst(after, limit);
  }

  /**
   * Revokes a key in the caller's transaction (undefined for an unknown id).
   * Once committed, `refuseEverywhere()` makes every replica refuse it.
   */
  async revokeWithin(
    manager: EntityManager,
    id: string,
  ): Promise<{ apiKey: ApiKey; revokedNow: boolean; refuseEverywhere: () => Promise<void> } | undefined> {
    const revoked = await this.keys.revokeWithin(manager, id);
    if (!revoked) return undefined;
    return { apiKey: revoked.key, revokedNow: revoked.revokedNow, refuseEverywhere: () => this.check.refuseEverywhere(revoked.secretHash) };
  }
}
