import type { CacheService } from '../../core/cache/cache.service.js';
import { generateApiKey } from './api-key-format.js';
import { API_KEY_CACHE_TTL_MS, ApiKeyCheck } from './api-key-check.js';
import type { ApiKeyUsage } from './api-key-usage.js';
import type { ApiKeyCredential, ApiKeysRepository } from './api-keys.repository.js';

describe('ApiKeyCheck', () => {
  const { key, secretHash } = generateApiKey();
  const hash = secretHash.toString('hex');
  const active: ApiKeyCredential = { id: 'k1', scopes: ['users:read'], expiresAt: null, revokedAt: null };
  let store: Map<string, unknown>;
  let redisDown: boolean;
  let cache: { strictGet: jest.Mock; strictSet: jest.Mock; setReliably: jest.Mock; invalidate: jest.Mock };
  let keys: { findCredentialByHash: jest.Mock };
  let usage: { record: jest.Mock };
  let check: ApiKeyCheck;

  beforeEach(() => {
    store = new Map();
    redisDown = false;
    const down = () => {
      if (redisDown) throw new Error('connect ECONNREFUSED');
    };
    cache = {
      strictGet: jest.fn(async (k: string) => (down(), store.get(k))),
      strictSet: jest.fn(async (entries: { key: string; value: unknown }[]) => {
        down();
        for (const entry of entries) store.set(entry.key, entry.value);
      }),
      setReliably: jest.fn(async () => undefined),
      invalidate: jest.fn(async (...ks: string[]) => ks.forEach((k) => store.delete(k))),
    };
    keys = { findCredentialByHash: jest.fn(async () => active) };
    usage = { record: jest.fn() };
    check = new ApiKeyCheck(cache as unknown as CacheService, keys as unknown as ApiKeysRepository, usage as unknown as ApiKeyUsage);
  });

  it('refuses a malformed key without asking Redis or the database', async () => {
    await expect(check.verify('usk_nope')).resolves.toBeUndefined();
    expect(cache.strictGet).not.toHaveBeenCalled();
    expect(keys.findCredentialByHash).not.toHaveBeenCalled();
  });

  it('asks the database once, by hash, then answers from the cache for API_KEY_CACHE_TTL_MS', async () => {
    await expect(check.verify(key)).resolves.toEqual({ apiKeyId: 'k1', scopes: ['users:read'] });
    await expect(check.verify(key)).resolves.toEqual({ apiKeyId: 'k1', scopes: ['users:read'] });

    expect(keys.findCredentialByHash).toHaveBeenCalledTimes(1);
    expect(keys.findCredentialByHash).toHaveBeenCalledWith(secretHash);
    expect(cache.strictSet).toHaveBeenCalledWith([{ key: `api-key:${hash}`, value: expect.objectContaining({ known: true, id: 'k1' }), ttlMs: API_KEY_CACHE_TTL_MS }]);
  });

  it('caches a key nobody holds too, and refuses it', async () => {
    keys.findCredentialByHash.mockResolvedValue(undefined);

    await expect(check.verify(key)).resolves.toBeUndefined();
    await expect(check.verify(key)).resolves.toBeUndefined();
    expect(keys.findCredentialByHash).toHaveBeenCalledTimes(1);
  });

  it('refuses a revoked or expired key, also from the cache', async () => {
    keys.findCredentialByHash.mockResolvedValue({ ...active, revokedAt: new Date() });
    await expect(check.verify(key)).resolves.toBeUndefined();

    const other = generateApiKey();
    keys.findCredentialByHash.mockResolvedValue({ ...active, expiresAt: new Date(Date.now() + 50) });
    await expect(check.verify(other.key)).resolves.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(check.verify(other.key)).resolves.toBeUndefined();
  });

  it('lets the revocation mark win over a record cached before it (a replica that read the database just before the revocation)', async () => {
    await check.verify(key);
    await check.refuseEverywhere(secretHash);
    // The stale record comes back after the mark.
    store.set(`api-key:${hash}`, { known: true, id: 'k1', scopes: ['users:read'], expiresAt: null, revoked: false });

    await expect(check.verify(key)).resolves.toBeUndefined();
    expect(store.get(`api-key-revoked:${hash}`)).toBe(1);
  });

  it('asks the database when Redis cannot answer (a revocation mark may be there)', async () => {
    redisDown = true;
    await expect(check.verify(key)).resolves.toEqual({ apiKeyId: 'k1', scopes: ['users:read'] });
    keys.findCredentialByHash.mockResolvedValue({ ...active, revokedAt: new Date() });
    await expect(check.verify(key)).resolves.toBeUndefined();
    expect(keys.findCredentialByHash).toHaveBeenCalledTimes(2);
  });

  it('lets a database failure through (the guard answers 503, never 401)', async () => {
    keys.findCredentialByHash.mockRejectedValue(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await expect(check.verify(key)).rejects.toThrow('ECONNREFUSED');
  });

  it('records uses for the lastUsedAt batch', () => {
    check.recordUse({ apiKeyId: 'k1', scopes: ['users:read'] });
    expect(usage.record).toHaveBeenCalledWith('k1');
  });
});
