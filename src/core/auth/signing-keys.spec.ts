import { ConfigError, loadConfig } from '../config/config.js';
import { generateRsaKeyPair, loadSigningKeys, SigningKeys } from './signing-keys.js';

const current = generateRsaKeyPair();
const next = generateRsaKeyPair();
const previous = generateRsaKeyPair();
const kidOf = (pair: { privateKeyPem: string; publicKeyPem: string }) => new SigningKeys(pair.privateKeyPem, pair.publicKeyPem).kid;
const header = (kid: unknown) => `${Buffer.from(JSON.stringify({ alg: 'RS256', kid })).toString('base64url')}.e30.sig`;

describe('SigningKeys', () => {
  const until = Date.now() + 60_000;
  const keys = new SigningKeys(current.privateKeyPem, current.publicKeyPem, undefined, {
    nextPublicKeyPem: next.publicKeyPem,
    previousPublicKeyPems: [previous.publicKeyPem],
    previousValidUntil: until,
  });

  it('publishes the current, the next and the retired key, each with its thumbprint kid, and the retired one only until its end', () => {
    expect(keys.jwks().keys.map((key) => key.kid)).toEqual([kidOf(current), kidOf(next), kidOf(previous)]);
    expect(keys.jwks(until).keys.map((key) => key.kid)).toEqual([kidOf(current), kidOf(next)]);
    expect(keys.expired(until)).toEqual([kidOf(previous)]);
    for (const jwk of keys.jwks().keys) expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(JSON.stringify(keys.jwks())).not.toMatch(/"d"|"p"|"q"/);
  });

  it('picks the key by the kid of a token header, with the retired key’s end; nothing for unknown, missing or malformed headers', () => {
    expect(keys.keyForToken(header(kidOf(current)))).toEqual({ key: keys.publicKey, validUntil: undefined });
    expect(keys.keyForToken(header(kidOf(previous)))?.validUntil).toBe(until);
    expect(keys.keyForToken(header(kidOf(previous)), until)).toBeUndefined();
    expect(keys.keyForToken(header(kidOf(next)))).toBeDefined();
    for (const token of [header('unknown'), header(undefined), header(42), 'not-a-token', '.x.y', `${'a'.repeat(2_000)}.x.y`, '%%%.x.y']) {
      expect(keys.keyForToken(token)).toBeUndefined();
    }
  });

  it('derives the server secret from SERVER_SECRET when given, so it does not change with the signing key', () => {
    const before = new SigningKeys(current.privateKeyPem, current.publicKeyPem, undefined, { serverSecret: 'x'.repeat(32) });
    const after = new SigningKeys(next.privateKeyPem, next.publicKeyPem, undefined, { serverSecret: 'x'.repeat(32) });
    expect(after.serverSecret).toEqual(before.serverSecret);
    expect(new SigningKeys(next.privateKeyPem, next.publicKeyPem).serverSecret).not.toEqual(new SigningKeys(current.privateKeyPem, current.publicKeyPem).serverSecret);
  });

  it('keeps a retired key for the access-token lifetime plus a minute after JWT_PREVIOUS_KEYS_RETIRED_AT', () => {
    const retiredAt = '2026-12-03T10:00:00.000Z';
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_PRIVATE_KEY: current.privateKeyPem,
      JWT_PUBLIC_KEY: current.publicKeyPem,
      JWT_PREVIOUS_PUBLIC_KEYS: `${previous.publicKeyPem}\n${next.publicKeyPem}`,
      JWT_PREVIOUS_KEYS_RETIRED_AT: retiredAt,
      ACCESS_TOKEN_TTL_SECONDS: '900',
    });
    expect(config.jwt.previousPublicKeyPems).toHaveLength(2);
    const loaded = loadSigningKeys(config);
    const end = Date.parse(retiredAt) + 900_000 + 60_000;
    expect(loaded.keyForToken(header(kidOf(previous)), end - 1)?.validUntil).toBe(end);
    expect(loaded.keyForToken(header(kidOf(next)), end)).toBeUndefined();
  });
});

describe('loadConfig: signing-key rotation settings', () => {
  const base = { NODE_ENV: 'test', JWT_PRIVATE_KEY: current.privateKeyPem, JWT_PUBLIC_KEY: current.publicKeyPem };
  const problem = (env: Record<string, string | undefined>) => {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('loadConfig accepted it');
  };

  it('names each bad or missing setting in one line', () => {
    expect(problem({ ...base, JWT_PREVIOUS_PUBLIC_KEYS: previous.publicKeyPem })).toMatch(/JWT_PREVIOUS_PUBLIC_KEYS needs JWT_PREVIOUS_KEYS_RETIRED_AT/);
    expect(problem({ ...base, JWT_PREVIOUS_PUBLIC_KEYS: 'not a key', JWT_PREVIOUS_KEYS_RETIRED_AT: '2026-12-03T10:00:00Z' })).toMatch(
      /JWT_PREVIOUS_PUBLIC_KEYS must hold/,
    );
    expect(problem({ ...base, JWT_PREVIOUS_PUBLIC_KEYS: previous.publicKeyPem, JWT_PREVIOUS_KEYS_RETIRED_AT: 'yesterday' })).toMatch(
      /JWT_PREVIOUS_KEYS_RETIRED_AT must be an ISO 8601 date-time/,
    );
    expect(problem({ ...base, JWT_NEXT_PUBLIC_KEY: 'nope' })).toMatch(/JWT_NEXT_PUBLIC_KEY must be a PEM-encoded public key/);
    expect(problem({ ...base, SERVER_SECRET: 'short' })).toMatch(/SERVER_SECRET must be at least 32 characters/);
  });

  it('refuses a rotation without SERVER_SECRET in production, and accepts it with one', () => {
    const production = {
      ...base,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/users',
      REDIS_URL: 'redis://cache:6379',
      RABBITMQ_URL: 'amqp://mq:5672',
      JWT_NEXT_PUBLIC_KEY: next.publicKeyPem,
    };
    expect(problem(production)).toMatch(/needs SERVER_SECRET/);
    expect(loadConfig({ ...production, SERVER_SECRET: 's'.repeat(40) }).serverSecret).toBe('s'.repeat(40));
  });
});
