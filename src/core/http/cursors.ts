import { createHmac, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { SigningKeys } from '../auth/signing-keys.js';
import { deriveKey } from '../crypto/sealed-box.js';
import { AppError } from '../errors/app-error.js';
import { ErrorCode } from '../errors/error-codes.js';

/** A position in a list ordered by (created_at, id), newest first. */
export interface Keyset {
  /** ISO-8601 UTC with PostgreSQL's microseconds, so no row is skipped or repeated. */
  createdAt: string;
  id: string;
}

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
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
    const payload = Buffer.from(`${keyset.createdAt}|${keyset.id}`).toString('base64url');
    return `${payload}.${this.mac(scope, payload).toString('base64url')}`;
  }

  /** The keyset of a cursor, or undefined for the first page; throws 400 for anything else. */
  decode(scope: string, cursor: string | undefined): Keyset | undefined {
    if (cursor === undefined) return undefined;
    const [payload, mac, extra] = cursor.split('.');
    if (!payload || !mac || extra !== undefined) throw invalid();
    const given = Buffer.from(mac, 'base64url');
    const expected = this.mac(scope, payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    const [createdAt, id] = Buffer.from(payload, 'base64url').toString().split('|');
    if (!ISO_MICROS.test(createdAt ?? '') || !UUID.test(id ?? '')) throw invalid();
    return { createdAt: createdAt!, id: id! };
  }

  private mac(scope: string, payload: string): Buffer {
    return createHmac('sha256', this.key).update(`${scope}\n${payload}`).digest().subarray(0, MAC_BYTES);
  }
}
