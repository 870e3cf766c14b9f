import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import type { AppConfig } from '../config/config.js';
import { deriveKey, sha256 } from '../crypto/sealed-box.js';

export const JWT_ALGORITHM = 'RS256';

export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: 'sig';
}

/** How long after its retirement a key still verifies: the longest-lived token it signed, plus clock skew between replicas. */
const CLOCK_SKEW_MS = 60_000;

export interface KeyRing {
  /** A key published before it starts signing (JWT_NEXT_PUBLIC_KEY). */
  nextPublicKeyPem?: string;
  /** Retired keys (JWT_PREVIOUS_PUBLIC_KEYS), verifying and published until `previousValidUntil`. */
  previousPublicKeyPems?: string[];
  /** ms since the epoch; after it the previous keys are refused and left out of the JWKS. */
  previousValidUntil?: number;
  /** SERVER_SECRET: when given, the server secret no longer depends on the signing key. */
  serverSecret?: string;
}

interface VerificationKey {
  kid: string;
  key: KeyObject;
  jwk: PublicJwk;
  /** ms since the epoch; undefined: as long as it is configured. */
  validUntil: number | undefined;
}

function verificationKey(key: KeyObject, kid: string | undefined, validUntil: number | undefined): VerificationKey {
  const id = kid ?? thumbprintOf(key);
  return { kid: id, key, jwk: { ...key.export({ format: 'jwk' }), kid: id, alg: JWT_ALGORITHM, use: 'sig' }, validUntil };
}

const thumbprintOf = (key: KeyObject) => sha256(key.export({ format: 'der', type: 'spki' })).toString('base64url').slice(0, 16);

/**
 * The key pair that signs access tokens, the other public keys that may
 * verify them during a rotation (the next key, published before it signs;
 * retired keys, until their last tokens have expired), and the server secret.
 * A token is verified with the key its header's kid names, and only that one.
 */
export class SigningKeys {
  readonly kid: string;
  /** Server secret for keyed hashes and encryption at rest; shared by every replica with the same configuration. */
  readonly serverSecret: Buffer;
  /**
   * Parsed once: given a PEM string, jsonwebtoken parses it again on every
   * sign and verify, which was the largest cost of an authenticated request.
   */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  private readonly verifiers: VerificationKey[];

  constructor(
    readonly privateKeyPem: string,
    readonly publicKeyPem: string,
    keyId?: string,
    ring: KeyRing = {},
  ) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(publicKeyPem);
    const current = verificationKey(this.publicKey, keyId, undefined);
    this.kid = current.kid;
    const others = [
      ...(ring.nextPublicKeyPem ? [verificationKey(createPublicKey(ring.nextPublicKeyPem), undefined, undefined)] : []),
      ...(ring.previousPublicKeyPems ?? []).map((pem) => verificationKey(createPublicKey(pem), undefined, ring.previousValidUntil ?? 0)),
    ];
    // The same key listed twice (say, a previous key that is also the current one) counts once, as the longer-lived entry.
    this.verifiers = [current, ...others.filter((key) => key.kid !== current.kid)].filter(
      (key, i, all) => all.findIndex((other) => other.kid === key.kid) === i,
    );
    this.serverSecret = deriveKey(ring.serverSecret ?? privateKeyPem, 'user-service server secret');
  }

  /** The public keys that verify tokens now: what /.well-known/jwks.json serves. */
  jwks(now = Date.now()): { keys: PublicJwk[] } {
    return { keys: this.live(now).map((key) => key.jwk) };
  }

  /** The key that verifies a token whose header names `kid`, now; undefined for an unknown or expired one. */
  keyFor(kid: unknown, now = Date.now()): { key: KeyObject; validUntil: number | undefined } | undefined {
    const found = typeof kid === 'string' ? this.live(now).find((key) => key.kid === kid) : undefined;
    return found && { key: found.key, validUntil: found.validUntil };
  }

  /** keyFor() the kid in a compact JWT's header (not verified yet: it only picks the key that will verify it). */
  keyForToken(token: string, now = Date.now()): { key: KeyObject; validUntil: number | undefined } | undefined {
    const header = token.slice(0, token.indexOf('.'));
    if (header.length === 0 || header.length > 1_024) return undefined;
    try {
      return this.keyFor((JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid, now);
    } catch {
      return undefined;
    }
  }

  /** Retired keys whose lifetime is over (for a warning at start: they can be removed from the configuration). */
  expired(now = Date.now()): string[] {
    return this.verifiers.filter((key) => key.validUntil !== undefined && key.validUntil <= now).map((key) => key.kid);
  }

  private live(now: number): VerificationKey[] {
    return this.verifiers.filter((key) => key.validUntil === undefined || key.validUntil > now);
  }
}

/** Until when the previous keys verify: their retirement plus the lifetime of the last token they signed. */
export function previousKeysValidUntil(config: AppConfig): number | undefined {
  const { previousKeysRetiredAt, accessTtlSeconds } = config.jwt;
  return previousKeysRetiredAt === undefined ? undefined : previousKeysRetiredAt + accessTtlSeconds * 1_000 + CLOCK_SKEW_MS;
}

/**
 * Production takes the keys from configuration (loadConfig insists). Elsewhere
 * a pair is generated once and kept in the data directory, so tokens survive
 * restarts of a development server.
 */
export function loadSigningKeys(config: AppConfig): SigningKeys {
  const { privateKeyPem, publicKeyPem, keyId, nextPublicKeyPem, previousPublicKeyPems } = config.jwt;
  const ring: KeyRing = {
    nextPublicKeyPem,
    previousPublicKeyPems,
    previousValidUntil: previousKeysValidUntil(config),
    serverSecret: config.serverSecret,
  };
  if (privateKeyPem && publicKeyPem) {
    const keys = new SigningKeys(privateKeyPem, publicKeyPem, keyId, ring);
    const expired = keys.expired();
    if (expired.length > 0) {
      new Logger('SigningKeys').warn(`retired signing keys ${expired.join(', ')} are past their lifetime and verify nothing: remove them from JWT_PREVIOUS_PUBLIC_KEYS`);
    }
    return keys;
  }

  const privatePath = join(config.dataDir, 'jwt-private.pem');
  const publicPath = join(config.dataDir, 'jwt-public.pem');
  if (!existsSync(privatePath) || !existsSync(publicPath)) {
    const pair = generateRsaKeyPair();
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(publicPath, pair.publicKeyPem, { mode: 0o644 });
  }
  return new SigningKeys(readFileSync(privatePath, 'utf8'), readFileSync(publicPath, 'utf8'), keyId, ring);
}

export function generateRsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
