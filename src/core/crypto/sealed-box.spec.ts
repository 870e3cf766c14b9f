import { randomBytes } from 'node:crypto';

import { deriveKey, open, seal, sha256 } from './sealed-box.js';

describe('sealed box', () => {
  const key = deriveKey('secret material', 'unit test');

  it('opens what it sealed', () => {
    const plaintext = JSON.stringify({ token: 'abc', note: 'ünïcødé ✓' });

    expect(open(key, seal(key, plaintext))).toBe(plaintext);
    expect(open(key, seal(key, ''))).toBe('');
  });

  it('seals the same text differently every time', () => {
    const first = seal(key, 'same');
    const second = seal(key, 'same');

    expect(first.equals(second)).toBe(false);
    expect(first.subarray(28).toString('utf8')).not.toContain('same');
  });

  it('refuses the wrong key', () => {
    const box = seal(key, 'hello');

    expect(open(deriveKey('secret material', 'another purpose'), box)).toBeUndefined();
    expect(open(deriveKey('other material', 'unit test'), box)).toBeUndefined();
    expect(open(randomBytes(32), box)).toBeUndefined();
  });

  it.each([
    ['iv', 0],
    ['tag', 12],
    ['ciphertext', 28],
  ])('refuses a box whose %s was tampered with', (_part, index) => {
    const box = seal(key, 'hello world');
    box[index] = box[index]! ^ 0x01;

    expect(open(key, box)).toBeUndefined();
  });

  it('refuses truncated or empty boxes', () => {
    const box = seal(key, 'hello world');

    expect(open(key, box.subarray(0, box.length - 1))).toBeUndefined();
    expect(open(key, box.subarray(0, 10))).toBeUndefined();
    expect(open(key, Buffer.alloc(0))).toBeUndefined();
  });
});

describe('deriveKey', () => {
  it('gives 32 bytes, stable per material, purpose and salt', () => {
    const derived = deriveKey('material', 'purpose', 'salt');

    expect(derived).toHaveLength(32);
    expect(derived.equals(deriveKey('material', 'purpose', 'salt'))).toBe(true);
    expect(derived.equals(deriveKey('material', 'purpose', 'pepper'))).toBe(false);
    expect(derived.equals(deriveKey('material', 'other', 'salt'))).toBe(false);
    expect(derived.equals(deriveKey(Buffer.from('material'), 'purpose', 'salt'))).toBe(true);
  });
});

describe('sha256', () => {
  it('hashes strings and buffers alike', () => {
    expect(sha256('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.from('abc')).equals(sha256('abc'))).toBe(true);
  });
});
