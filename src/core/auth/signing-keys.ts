import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { AppConfig } from '../config/config.js';
import { deriveKey, sha256 } from '../crypto/sealed-box.js';

export const JWT_ALGORITHM = 'RS256';

export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: 'sig';
}

/** The key pair that signs access tokens, and secrets derived from it for server-side sealing. */
export class SigningKeys {
  readonly kid: string;
  readonly jwks: { keys: PublicJwk[] };
  /** Server secret for keyed hashes and encryption at rest; shared by every replica holding the key. */
  readonly serverSecret: Buffer;
  /**
   * Parsed once: given a PEM string, jsonwebtoken parses it again on every
   * sign and verify, which was the largest cost of an authenticated request.
   */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor(
    readonly privateKeyPem: string,
    readonly publicKeyPem: string,
    keyId?: string,
  ) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(publicKeyPem);
    const spki = this.publicKey.export({ format: 'der', type: 'spki' });
    this.kid = keyId ?? sha256(spki).toString('base64url').slice(0, 16);
    this.jwks = { keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: JWT_ALGORITHM, use: 'sig' }] };
    this.serverSecret = deriveKey(privateKeyPem, 'user-service server secret');
  }
}

/**
 * Production takes the keys from configuration (loadConfig insists). Elsewhere
 * a pair is generated once and kept in the data directory, so tokens survive
 * restarts of a development server.
 */
export function loadSigningKeys(config: AppConfig): SigningKeys {
  const { privateKeyPem, publicKeyPem, keyId } = config.jwt;
  if (privateKeyPem && publicKeyPem) return new SigningKeys(privateKeyPem, publicKeyPem, keyId);

  const privatePath = join(config.dataDir, 'jwt-private.pem');
  const publicPath = join(config.dataDir, 'jwt-public.pem');
  if (!existsSync(privatePath) || !existsSync(publicPath)) {
    const pair = generateRsaKeyPair();
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(publicPath, pair.publicKeyPem, { mode: 0o644 });
  }
  return new SigningKeys(readFileSync(privatePath, 'utf8'), readFileSync(publicPath, 'utf8'), keyId);
}

export function generateRsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
