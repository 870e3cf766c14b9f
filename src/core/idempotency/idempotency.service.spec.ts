import type { DataSource, EntityManager } from 'typeorm';

import { generateRsaKeyPair, SigningKeys } from '../auth/signing-keys.js';
import { loadConfig } from '../config/config.js';
import { AppError } from '../errors/app-error.js';
import { IdempotencyService, type IdempotentRequest } from './idempotency.service.js';
import { rejectionOf } from '../../../test/utils/errors.js';

const pair = generateRsaKeyPair();
const keys = new SigningKeys(pair.privateKeyPem, pair.publicKeyPem);
const config = loadConfig({ NODE_ENV: 'test', IDEMPOTENCY_TTL_SECONDS: '600' });

interface Row {
  fingerprint: Buffer;
  response_status: number | null;
  response: Buffer | null;
}

/** Plays the idempotency_keys table for the three statements the service sends. */
function fakeManager() {
  const rows = new Map<string, Row>();
  const query = jest.fn(async (sql: string, params: unknown[] = []): Promise<unknown[]> => {
    const id = `${String(params[0])}\n${String(params[1])}`;
    if (sql.trimStart().startsWith('INSERT INTO idempotency_keys')) {
      if (rows.has(id)) return [];
      rows.set(id, { fingerprint: params[2] as Buffer, response_status: null, response: null });
      return [{ '?column?': 1 }];
    }
    if (sql.startsWith('SELECT fingerprint')) {
      const row = rows.get(id);
      return row ? [row] : [];
    }
    if (sql.startsWith('UPDATE idempotency_keys')) {
      const row = rows.get(id)!;
      row.response_status = params[2] as number;
      row.response = params[3] as Buffer;
      return [[], 1];
    }
    throw new Error(`unexpected query: ${sql}`);
  });
  return { rows, query, manager: { query } as unknown as EntityManager };
}

describe('IdempotencyService', () => {
  // Pruning runs against the real database in test/e2e; the unit tests never reach it.
  const service = new IdempotencyService(keys, config, {} as DataSource);
  const scope = 'POST /auth/register';
  const request = (key: string, body: unknown): IdempotentRequest => ({ scope, key, body });

  describe('assertValidKey', () => {
    it.each(['a', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '!~'.repeat(127) + 'x'])('accepts %j', (key) => {
      expect(() => IdempotencyService.assertValidKey(key)).not.toThrow();
    });

    it.each(['', 'has space', 'tab\there', 'ünïcode', 'x'.repeat(256)])('refuses %j with a field error', (key) => {
      let thrown: unknown;
      try {
        IdempotencyService.assertValidKey(key);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, errors: [{ field: 'Idempotency-Key' }] });
    });
  });

  describe('claim', () => {
    it('claims a new key, passing scope, key, a keyed fingerprint and the TTL', async () => {
      const { manager, query } = fakeManager();

      await expect(service.claim(manager, request('k1', { a: 1 }))).resolves.toBeUndefined();

      expect(query).toHaveBeenCalledTimes(1);
      const [sql, params] = query.mock.calls[0]!;
      expect(sql).toContain('ON CONFLICT (scope, key)');
      expect(params).toEqual([scope, 'k1', expect.any(Buffer), 600]);
      expect((params![2] as Buffer).length).toBe(32);
    });

    it('fingerprints the body canonically: key order and undefined fields do not matter', async () => {
      const fingerprintOf = async (body: unknown, scopeOf = scope) => {
        const { manager, query } = fakeManager();
        await service.claim(manager, { scope: scopeOf, key: 'k', body });
        return (query.mock.calls[0]![1] as unknown[])[2] as Buffer;
      };
      const reference = await fingerprintOf({ email: 'a@b.c', name: 'Ada', nested: { x: 1, y: [1, { q: 2, p: 1 }] } });

      const reordered = await fingerprintOf({ nested: { y: [1, { p: 1, q: 2 }], x: 1 }, name: 'Ada', mobile: undefined, email: 'a@b.c' });
      expect(reordered.equals(reference)).toBe(true);

      for (const different of [
        { email: 'a@b.c', name: 'Ada', nested: { x: 1, y: [{ q: 2, p: 1 }, 1] } },
        { email: 'a@b.c', name: 'Ada', nested: { x: '1', y: [1, { q: 2, p: 1 }] } },
        { email: 'a@b.c', name: 'Ada', nested: { x: 1, y: [1, { q: 2, p: 1 }] }, mobile: null },
      ]) {
        expect((await fingerprintOf(different)).equals(reference)).toBe(false);
      }
      const otherScope = await fingerprintOf({ email: 'a@b.c', name: 'Ada', nested: { x: 1, y: [1, { q: 2, p: 1 }] } }, 'POST /other');
      expect(otherScope.equals(reference)).toBe(false);
    });

    it('replays the stored response of a faithful repeat, whatever the key order', async () => {
      const { manager } = fakeManager();
      const first = request('k2', { email: 'ada@example.com', password: 'pw-123456789', name: 'Ada' });
      await service.claim(manager, first);
      const response = { status: 201, body: { user: { id: 'u1' }, accessToken: 'secret-token' } };
      await service.complete(manager, first, response);

      const repeat = request('k2', { name: 'Ada', password: 'pw-123456789', email: 'ada@example.com' });

      await expect(service.claim(manager, repeat)).resolves.toEqual(response);
    });

    it('stores the response sealed, never in clear', async () => {
      const { manager, rows } = fakeManager();
      const first = request('k3', { a: 1 });
      await service.claim(manager, first);

      await service.complete(manager, first, { status: 201, body: { accessToken: 'secret-token' } });

      const row = rows.get(`${scope}\nk3`)!;
      expect(row.response_status).toBe(201);
      expect(row.response).toBeInstanceOf(Buffer);
      expect(row.response!.toString('utf8')).not.toContain('secret-token');
    });

    it('refuses the key with another body: 409 IDEMPOTENCY_KEY_REUSED', async () => {
      const { manager } = fakeManager();
      const first = request('k4', { email: 'ada@example.com' });
      await service.claim(manager, first);
      await service.complete(manager, first, { status: 201, body: {} });

      const error = await rejectionOf(service.claim(manager, request('k4', { email: 'eve@example.com' })));

      expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    });

    it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while the first request has no stored answer', async () => {
      const { manager } = fakeManager();
      await service.claim(manager, request('k5', { a: 1 }));

      const error = await rejectionOf(service.claim(manager, request('k5', { a: 1 })));

      expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_PROGRESS', status: 409 });
    });

    it('treats a stored answer it cannot open as still in progress', async () => {
      const { manager, rows } = fakeManager();
      const first = request('k6', { a: 1 });
      await service.claim(manager, first);
      await service.complete(manager, first, { status: 201, body: { ok: true } });
      rows.get(`${scope}\nk6`)!.response![20]! ^= 0xff;

      const error = await rejectionOf(service.claim(manager, request('k6', { a: 1 })));

      expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_PROGRESS', status: 409 });
    });

    it('refuses when the conflicting row vanished before it could be read', async () => {
      const query = jest.fn().mockResolvedValueOnce([]).mockResolvedValueOnce([]);

      const error = await rejectionOf(service.claim({ query } as unknown as EntityManager, request('k7', {})));

      expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 });
    });

    it('keeps the same key under different scopes apart', async () => {
      const { manager } = fakeManager();
      await service.claim(manager, request('shared', { a: 1 }));

      await expect(service.claim(manager, { scope: 'POST /other', key: 'shared', body: { a: 1 } })).resolves.toBeUndefined();
    });
  });
});
