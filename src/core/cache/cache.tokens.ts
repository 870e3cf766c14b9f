import type { Cache } from 'cache-manager';
import type { Keyv } from 'keyv';

/** Key-value store that throws when Redis fails, for checks that must not mistake an outage for "absent". */
export const STRICT_STORE = Symbol('STRICT_STORE');
/** cache-manager over the same store: a Redis failure reads as a miss, so callers fall back to the database. */
export const CACHE = Symbol('CACHE');

export type StrictStore = Keyv;
export type { Cache };
