import { createHmac, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { SigningKeys } from '../auth/signing-keys.js';
import { deriveKey } from '../crypto/sealed-box.js';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';

/**
 * Where the next page of a keyset-paged list starts: the sort key of the
 * last row, as text (a timestamp keeps PostgreSQL's microseconds, so no row is
 * skipped or repeated).
 */
export type Keyset = string[];

/** What each part of a keyset must look like, checked again when a cursor comes back. */
export type KeysetShape = ('timestamp' | 'uuid' | 'text')[];

/**
 * The rows of a query that asked for one row beyond the page, each with its
 * `keyset` column: the page, and the keyset the next page starts after (none on the last page).
 */
export function pageOf<Row extends Record<string, unknown>>(rows: Row[], limit: number): { page: Row[]; next?: Keyset } {
  const page = rows.slice(0, limit);
  return { page, next: rows.length > limit ? (page.at(-1)!.keyset as Keyset) : undefined };
}

const PART = {
  timestamp: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  text: /^[^\n]{1,254}$/u,
};
const MAC_BYTES = 16;

const invalid = () =>
  new AppError(ErrorCode.VALIDATION_FAILED, 400, 'The cursor is invalid.', [
    { field: 'cursor', message: 'is not a cursor of this list (take nextCursor from the previous page, with the same filters)' },
  ]);

/**
 * Opaque list cursors: the keyset plus a MAC over it and the list's scope
 * (route and filters). A cursor cannot be forged, edited, or reused with
 * other filters; any of that is a 400, never a query on attacker-chosen values.
 */
@Injectable()
export class Cursors {
  private readonly key: Buffer;

  constructor(keys: SigningKeys) {
    this.key = deriveKey(keys.serverSecret, 'list cursors');
  }

  encode(scope: string, keyset: Keyset): string {
    const payload = Buffer.from(keyset.join('\n')).toString('base64url');
    return `${payload}.${this.mac(scope, payload).toString('base64url')}`;
  }

  /** The keyset of a cursor, or undefined for the first page; throws 400 for anything else. */
  decode(scope: string, shape: KeysetShape, cursor: string | undefined): Keyset | undefined {
    if (cursor === undefined) return undefined;
    const [payload, mac, extra] = cursor.split('.');
    if (!payload || !mac || extra !== undefined) throw invalid();
    // The MAC's text, not its decoded bytes: base64url decoding skips stray characters and spare bits.
    const given = Buffer.from(mac);
    const expected = Buffer.from(this.mac(scope, payload).toString('base64url'));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    const keyset = Buffer.from(payload, 'base64url').toString().split('\n');
    if (keyset.length !== shape.length || keyset.some((part, i) => !PART[shape[i]!].test(part))) throw invalid();
    return keyset;
  }

  private mac(scope: string, payload: string): Buffer {
    return createHmac('sha256', this.key).update(`${scope}\n${payload}`).digest().subarray(0, MAC_BYTES);
  }
}
