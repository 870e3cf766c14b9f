import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { ConfigError } from '../config/config.js';
import { closedToOtherUsers, startEmbeddedPostgres } from './embedded-postgres.js';

describe('the embedded PostgreSQL as root', () => {
  let base: string;
  let closed: string;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'embedded-pg-access-'));
    closed = join(base, 'home');
    mkdirSync(join(closed, 'checkout'), { recursive: true });
    chmodSync(base, 0o755);
    chmodSync(closed, 0o700);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('finds the first directory other users may not enter, above the checkout or the data directory', () => {
    expect(closedToOtherUsers([join(closed, 'checkout', '.data')], 0)).toBe(closed);
    expect(closedToOtherUsers([base, join(closed, 'checkout')], 0)).toBe(closed);
    expect(closedToOtherUsers([join(base, 'elsewhere', '.data')], 0)).toBeUndefined();
    // Not root: the server runs as the caller, who can enter what it owns.
    expect(closedToOtherUsers([join(closed, 'checkout')], 1_000)).toBeUndefined();
  });

  it('stops with one clear line saying why and what to do, before starting anything', async () => {
    const starting = startEmbeddedPostgres(join(closed, 'checkout', '.data'), 1);
    if (userInfo().uid === 0) {
      await expect(starting).rejects.toThrow(ConfigError);
      await expect(starting).rejects.toThrow(/runs as the user "postgres" when started as root, and that user cannot enter .*\(mode 700\)\. Set DATABASE_URL/);
    } else {
      // Not root: nothing to refuse; port 1 makes the start itself fail, which is not this check.
      await expect(starting).rejects.not.toThrow(ConfigError);
    }
  });
});
