import { randomBytes, randomInt } from 'node:crypto';

import { sha256 } from '../../core/crypto/sealed-box.js';

/**
 * Service API keys look like `usk_<8 lower-case letters or digits>_<43 base64url characters>`:
 * the `usk_` tag lets secret scanners and log filters recognize a leaked key,
 * the 8 characters after it (the prefix, stored in clear and unique) name the
 * key in lists and logs, and the 32 random bytes after them are the secret.
 */
export const API_KEY_TAG = 'usk_';
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PREFIX_CHARS = 8;
const SECRET_BYTES = 32;
const API_KEY_PATTERN = /^usk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;

export interface GeneratedApiKey {
  /** The whole key: shown once, never stored. */
  key: string;
  /** `usk_` and the 8 characters after it: stored, shown in lists. */
  prefix: string;
  /** What is stored to recognize the key. */
  secretHash: Buffer;
}

/** A fresh key, its prefix and its hash. */
export function generateApiKey(): GeneratedApiKey {
  let prefix = API_KEY_TAG;
  for (let i = 0; i < PREFIX_CHARS; i += 1) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  const key = `${prefix}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, prefix, secretHash: hashApiKey(key) };
}

/** Whether a presented value has the shape of a key (anything else is refused without a lookup). */
export function isWellFormedApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/**
 * SHA-256 of the whole key. A fast hash is right here, unlike for passwords:
 * the key holds 256 random bits, so there is nothing to guess, and a slow hash
 * (bcrypt) on every request would cost more than the request.
 */
export function hashApiKey(key: string): Buffer {
  return sha256(key);
}
