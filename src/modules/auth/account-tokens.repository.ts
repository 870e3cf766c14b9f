import { randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { sha256 } from '../../core/crypto/sealed-box.js';

export type AccountTokenPurpose = 'email_verification' | 'password_reset';

export type ConsumeResult = { userId: string } | { problem: 'invalid' | 'expired' };

/** Single-use tokens mailed to users: 256 random bits, stored only as a SHA-256 hash. */
@Injectable()
export class AccountTokensRepository {
  /** Issues a new token; any earlier unused token of the same purpose stops working. */
  async issue(
    manager: EntityManager,
    userId: string,
    purpose: AccountTokenPurpose,
    ttlSeconds: number,
  ): Promise<{ token: string; expiresAt: Date }> {
    await manager.query('DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [userId, purpose]);
    const token = randomBytes(32).toString('base64url');
    const [row] = (await manager.query(
      `INSERT INTO user_tokens (token_hash, user_id, purpose, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
      [sha256(token), userId, purpose, ttlSeconds],
    )) as { expires_at: Date }[];
    return { token, expiresAt: row.expires_at };
  }

  /** Whose token this is (without locking it), or undefined. */
  async ownerOf(manager: EntityManager, token: string, purpose: AccountTokenPurpose): Promise<string | undefined> {
    const [row] = (await manager.query('SELECT user_id FROM user_tokens WHERE token_hash = $1 AND purpose = $2', [
      sha256(token),
      purpose,
    ])) as { user_id: string }[];
    return row?.user_id;
  }

  /** Spends a token in the caller's transaction (a concurrent second use finds it used). */
  async consume(manager: EntityManager, token: string, purpose: AccountTokenPurpose): Promise<ConsumeResult> {
    const [row] = (await manager.query(
      `SELECT user_id, used_at, expires_at <= now() AS expired FROM user_tokens
        WHERE token_hash = $1 AND purpose = $2 FOR UPDATE`,
      [sha256(token), purpose],
    )) as { user_id: string; used_at: Date | null; expired: boolean }[];
    if (!row || row.used_at) return { problem: 'invalid' };
    if (row.expired) return { problem: 'expired' };
    await manager.query('UPDATE user_tokens SET used_at = now() WHERE token_hash = $1', [sha256(token)]);
    return { userId: row.user_id };
  }
}
