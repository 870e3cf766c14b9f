import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

import type { ApiKeyScope } from '../../core/auth/auth.decorators.js';
import { type Keyset, pageOf } from '../../core/http/cursors.js';
import { NEWEST_FIRST_KEYSET } from '../users/users-admin.queries.js';

/** A key as admins see it (its secret is never read back). */
export interface ApiKey {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  createdAt: Date;
  /** The admin who created it; null when an operator did (CLI). */
  createdBy: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** What a request's check needs to know about a key. */
export interface ApiKeyCredential {
  id: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  secretHash: Buffer;
  createdBy: string | null;
  expiresAt: Date | null;
}

const COLUMNS = 'id, name, scopes, prefix, created_at, created_by, expires_at, revoked_at, last_used_at';

function toApiKey(row: Record<string, unknown>): ApiKey {
  return {
    id: row.id as string,
    name: row.name as string,
    scopes: row.scopes as ApiKeyScope[],
    prefix: row.prefix as string,
    createdAt: row.created_at as Date,
    createdBy: row.created_by as string | null,
    expiresAt: row.expires_at as Date | null,
    revokedAt: row.revoked_at as Date | null,
    lastUsedAt: row.last_used_at as Date | null,
  };
}

@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The new key, or undefined when its prefix is taken (the caller draws another; the transaction stays usable). */
  async insertWithin(manager: EntityManager, key: NewApiKey): Promise<ApiKey | undefined> {
    const rows = (await manager.query(
      `INSERT INTO api_keys (name, scopes, prefix, secret_hash, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT ON CONSTRAINT api_keys_prefix_key DO NOTHING
       RETURNING ${COLUMNS}`,
      [key.name, key.scopes, key.prefix, key.secretHash, key.createdBy, key.expiresAt],
    )) as Record<string, unknown>[];
    return rows[0] ? toApiKey(rows[0]) : undefined;
  }

  /**
   * Revokes a key (once: a revoked key keeps its first revocation time). The
   * key as it is now, its hash, and whether this call revoked it; undefined
   * for an unknown id.
   */
  async revokeWithin(manager: EntityManager, id: string): Promise<{ key: ApiKey; secretHash: Buffer; revokedNow: boolean } | undefined> {
    const [current] = (await manager.query(`SELECT ${COLUMNS}, secret_hash FROM api_keys WHERE id = $1 FOR UPDATE`, [id])) as Record<
      string,
      unknown
    >[];
    if (!current) return undefined;
    const secretHash = current.secret_hash as Buffer;
    if (current.revoked_at !== null) return { key: toApiKey(current), secretHash, revokedNow: false };
    const [rows] = (await manager.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id])) as [
      Record<string, unknown>[],
      number,
    ];
    return { key: toApiKey(rows[0]!), secretHash, revokedNow: true };
  }

  async findCredentialByHash(secretHash: Buffer): Promise<ApiKeyCredential | undefined> {
    const [row] = (await this.dataSource.query('SELECT id, scopes, expires_at, revoked_at FROM api_keys WHERE secret_hash = $1', [
      secretHash,
    ])) as Record<string, unknown>[];
    if (!row) return undefined;
    return {
      id: row.id as string,
      scopes: row.scopes as ApiKeyScope[],
      expiresAt: row.expires_at as Date | null,
      revokedAt: row.revoked_at as Date | null,
    };
  }

  /** One page, newest first (revoked and expired keys included), and the keyset of the next page if there is one. */
  async listNewestFirst(after: Keyset | undefined, limit: number): Promise<{ keys: ApiKey[]; next?: Keyset }> {
    const values: unknown[] = [];
    const param = (value: unknown) => `$${values.push(value)}`;
    const where = after ? `WHERE (created_at, id) < (${param(after[0])}::timestamptz, ${param(after[1])}::uuid)` : '';
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS}, ${NEWEST_FIRST_KEYSET} FROM api_keys ${where} ORDER BY created_at DESC, id DESC LIMIT ${param(limit + 1)}`,
      values,
    )) as Record<string, unknown>[];
    const { page, next } = pageOf(rows, limit);
    return { keys: page.map(toApiKey), next };
  }

  /** When each key was last used, in one statement; a time older than the stored one changes nothing (replicas flush in any order). */
  async recordLastUsed(uses: Map<string, Date>): Promise<void> {
    if (uses.size === 0) return;
    await this.dataSource.query(
      `UPDATE api_keys k SET last_used_at = u.used_at
         FROM unnest($1::uuid[], $2::timestamptz[]) AS u (id, used_at)
        WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.used_at)`,
      [[...uses.keys()], [...uses.values()]],
    );
  }
}
