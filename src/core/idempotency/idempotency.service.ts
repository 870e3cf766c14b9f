import { createHmac } from 'node:crypto';

import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';

import { SigningKeys } from '../auth/signing-keys.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { deriveKey, open, seal } from '../crypto/sealed-box.js';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';

export interface IdempotentRequest {
  /** Route (and caller, where there is one), so keys of different clients or routes never meet. */
  scope: string;
  key: string;
  body: unknown;
}

export interface StoredResponse<T> {
  status: number;
  body: T;
}

const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Idempotency-Key support, inside the caller's transaction: the key row is
 * claimed first, so a concurrent repeat waits on it and then replays the
 * committed answer; if the work fails, the claim rolls back with it.
 */
@Injectable()
export class IdempotencyService implements OnModuleInit, OnApplicationShutdown {
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Expired keys are pruned hourly (by every replica; the delete is idempotent). */
  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.pruneExpired().catch(() => undefined), 3_600_000);
    this.pruneTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.pruneTimer);
  }

  async pruneExpired(): Promise<number> {
    const [, count] = (await this.dataSource.query('DELETE FROM idempotency_keys WHERE expires_at <= now()')) as [unknown, number];
    return count;
  }

  static assertValidKey(key: string): void {
    if (!VALID_KEY.test(key)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The Idempotency-Key header is invalid.', [
        { field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' },
      ]);
    }
  }

  /** The request to make idempotent, or undefined without a key; an unusable key is a 400. */
  static request(scope: string, key: string | undefined, body: unknown): IdempotentRequest | undefined {
    if (key === undefined) return undefined;
    IdempotencyService.assertValidKey(key);
    return { scope, key, body };
  }

  /**
   * Does the work once per key, in the caller's transaction: a faithful repeat
   * gets the stored first answer instead. Without a request, just does the work.
   */
  async once<T>(
    manager: EntityManager,
    request: IdempotentRequest | undefined,
    work: () => Promise<StoredResponse<T>>,
  ): Promise<StoredResponse<T>> {
    if (!request) return work();
    const replay = await this.claim<T>(manager, request);
    if (replay) return replay;
    const response = await work();
    await this.complete(manager, request, response);
    return response;
  }

  /** Claims the key, or returns the first response when this is a faithful repeat. */
  async claim<T>(manager: EntityManager, request: IdempotentRequest): Promise<StoredResponse<T> | undefined> {
    const body = canonicalJson(request.body);
    const fingerprint = createHmac('sha256', this.keys.serverSecret).update(`${request.scope}\n${body}`).digest();
    const claimed: unknown[] = await manager.query(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, expires_at)
       VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4))
       ON CONFLICT (scope, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response_status = NULL, response = NULL,
             created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at <= now()
       RETURNING 1`,
      [request.scope, request.key, fingerprint, this.config.idempotencyTtlSeconds],
    );
    if (claimed.length > 0) return undefined;

    const [previous] = (await manager.query(
      'SELECT fingerprint, response_status, response FROM idempotency_keys WHERE scope = $1 AND key = $2',
      [request.scope, request.key],
    )) as { fingerprint: Buffer; response_status: number | null; response: Buffer | null }[];
    if (!previous || !previous.fingerprint.equals(fingerprint)) {
      throw new AppError(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        409,
        'This Idempotency-Key was already used with a different request body.',
      );
    }
    const plain = previous.response && open(this.responseKey(request, body), previous.response);
    if (previous.response_status === null || plain === undefined || plain === null) {
      throw new AppError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, 409, 'A request with this Idempotency-Key is still in progress.');
    }
    return { status: previous.response_status, body: JSON.parse(plain) as T };
  }

  /** Stores the response of a claimed key, in the same transaction as the work. */
  async complete<T>(manager: EntityManager, request: IdempotentRequest, response: StoredResponse<T>): Promise<void> {
    const sealed = seal(this.responseKey(request, canonicalJson(request.body)), JSON.stringify(response.body));
    await manager.query(
      'UPDATE idempotency_keys SET response_status = $3, response = $4 WHERE scope = $1 AND key = $2',
      [request.scope, request.key, response.status, sealed],
    );
  }

  /**
   * Responses may hold tokens: they are sealed under a key that needs both the
   * server secret and the original request (password included) to rebuild.
   */
  private responseKey(request: IdempotentRequest, canonicalBody: string): Buffer {
    return deriveKey(Buffer.concat([this.keys.serverSecret, Buffer.from(canonicalBody)]), 'idempotent response', `${request.scope}\n${request.key}`);
  }
}
