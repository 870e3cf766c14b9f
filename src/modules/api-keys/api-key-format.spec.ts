import { createHash } from 'node:crypto';

import { API_KEY_TAG, generateApiKey, hashApiKey, isWellFormedApiKey } from './api-key-format.js';

describe('API key format', () => {
  it('is usk_, 8 lower-case letters or digits (the prefix), _, and 43 base64url characters of 32 random bytes', () => {
    const { key, prefix } = generateApiKey();

    expect(key).toMatch(/^usk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(prefix).toMatch(/^usk_[a-z0-9]{8}$/);
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    expect(Buffer.from(key.slice(prefix.length + 1), 'base64url')).toHaveLength(32);
    expect(prefix.startsWith(API_KEY_TAG)).toBe(true);
  });

  it('makes a different key and prefix every time', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey());

    expect(new Set(keys.map((k) => k.key)).size).toBe(200);
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(200);
  });

  it('stores the SHA-256 of the whole key, never the key or its secret part', () => {
    const { key, prefix, secretHash } = generateApiKey();

    expect(secretHash).toEqual(createHash('sha256').update(key).digest());
    expect(hashApiKey(key)).toEqual(secretHash);
    expect(secretHash.toString()).not.toContain(key.slice(prefix.length + 1));
  });

  it('tells a key from what only looks like one, hash differs for any change', () => {
    const { key } = generateApiKey();

    expect(isWellFormedApiKey(key)).toBe(true);
    for (const bad of [
      '',
      key.slice(0, -1),
      `${key}A`,
      key.replace('usk_', 'USK_'),
      key.replace('usk_', 'sk_'),
      `usk_ABCDEFGH_${key.slice(13)}`,
      `usk_abcdefg_${key.slice(13)}`,
      key.replace(/.$/, '='),
      ` ${key}`,
      `Bearer ${key}`,
    ]) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(hashApiKey(flipped)).not.toEqual(hashApiKey(key));
  });
});
