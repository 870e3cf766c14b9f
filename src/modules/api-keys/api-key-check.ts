import { Injectable, Logger } from '@nestjs/common';

import type { ApiKeyScope, AuthApiKey } from '../../core/auth/auth.decorators.js';
import { CacheService } from '../../core/cache/cache.service.js';
import { hashApiKey, isWellFormedApiKey } from './api-key-format.js';
import { ApiKeyUsage } from './api-key-usage.js';
import { type ApiKeyCredential, ApiKeysRepository } from './api-keys.repository.js';

/**
 * How long Redis holds what the database said about a key. Revocation does
 * not wait for it (every check reads the key's revocation mark too); it only
 * bounds a revocation whose mark could not be stored.
 */
export const API_KEY_CACHE_TTL_MS = 10_000;
/**
 * A revocation mark outlives any record cached before the revocation, however
 * late a replica that read the database just before it writes that record.
 */
const REVOCATION_MARK_TTL_MS = 7 * 86_400_000;
/** A Redis that accepts the connection but never answers must not hold up a request. */
const REDIS_TIMEOUT_MS = 1_000;

/** What Redis holds per key hash: the database's answer, JSON-safe (a key nobody holds is cached too). */
type CachedCredential = { known: false } | { known: true; id: string; scopes: ApiKeyScope[]; expiresAt: number | null; revoked: boolean };

const recordKey = (hash: string) => `api-key:${hash}`;
const revokedKey = (hash: string) => `api-key-revoked:${hash}`;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toCached(credential: ApiKeyCredential | undefined): CachedCredential {
  if (!credential) return { known: false };
  return {
    known: true,
    id: credential.id,
    scopes: credential.scopes,
    expiresAt: credential.expiresAt?.getTime() ?? null,
    revoked: credential.revokedAt !== null,
  };
}

function usable(cached: CachedCredential): AuthApiKey | undefined {
  if (!cached.known || cached.revoked || (cached.expiresAt !== null && cached.expiresAt <= Date.now())) return undefined;
  return { apiKeyId: cached.id, scopes: cached.scopes };
}

/**
 * Checks the X-API-Key of a request: one Redis round trip (the cached record
 * and the revocation mark, read together), the database only on a cache miss
 * or when Redis cannot answer. A revocation writes the mark, so every replica
 * refuses the key from the next request on.
 */
@Injectable()
export class ApiKeyCheck {
  private readonly logger = new Logger('ApiKeys');

  constructor(
    private readonly cache: CacheService,
    private readonly keys: ApiKeysRepository,
    private readonly usage: ApiKeyUsage,
  ) {}

  /** The key's identity and scopes, or undefined for a malformed, unknown, revoked or expired key. Throws when the database cannot answer. */
  async verify(presented: string): Promise<AuthApiKey | undefined> {
    if (!isWellFormedApiKey(presented)) return undefined;
    const secretHash = hashApiKey(presented);
    const hash = secretHash.toString('hex');
    let cached: CachedCredential | undefined;
    try {
      const [mark, record] = await within(
        REDIS_TIMEOUT_MS,
        Promise.all([this.cache.strictGet(revokedKey(hash)), this.cache.strictGet(recordKey(hash))]),
      );
      if (mark !== undefined) return undefined;
      cached = record as CachedCredential | undefined;
    } catch {
      // Redis cannot say whether the key was revoked: the database decides.
      return usable(toCached(await this.keys.findCredentialByHash(secretHash)));
    }
    if (cached === undefined) {
      cached = toCached(await this.keys.findCredentialByHash(secretHash));
      // Not cached is only slower.
      await within(REDIS_TIMEOUT_MS, this.cache.strictSet([{ key: recordKey(hash), value: cached, ttlMs: API_KEY_CACHE_TTL_MS }])).catch(
        () => undefined,
      );
    }
    return usable(cached);
  }

  /** An accepted request: lastUsedAt moves (written in batches). */
  recordUse(key: AuthApiKey): void {
    this.usage.record(key.apiKeyId);
  }

  /**
   * After the commit that revoked the key: resolves once every replica refuses
   * it. When the mark cannot be stored, it keeps trying in the background and
   * this waits until every record cached before the revocation has expired.
   */
  async refuseEverywhere(secretHash: Buffer): Promise<void> {
    const hash = secretHash.toString('hex');
    const mark = [{ key: revokedKey(hash), value: 1, ttlMs: REVOCATION_MARK_TTL_MS }];
    try {
      await within(REDIS_TIMEOUT_MS, this.cache.strictSet(mark));
    } catch (error) {
      this.logger.warn(`API key revocation mark not stored in Redis (${(error as Error).message}); waiting out the cached records`);
      void this.cache.setReliably(mark);
      await sleep(API_KEY_CACHE_TTL_MS + 1_000);
    }
    await this.cache.invalidate(recordKey(hash));
  }
}
