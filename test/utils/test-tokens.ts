import { JwtService } from '@nestjs/jwt';

import { SigningKeys } from '../../src/core/auth/signing-keys.js';

/** The kid the service gives the suite's signing key (its SPKI thumbprint, as without JWT_KEY_ID). */
export function testKeyId(): string {
  return new SigningKeys(process.env.TEST_JWT_PRIVATE_KEY!, process.env.TEST_JWT_PUBLIC_KEY!).kid;
}

/** A token signed with the suite's key and its kid, as the service would sign it, with whatever claims a test needs. */
export function signWithTestKey(claims: Record<string, unknown>, privateKey = process.env.TEST_JWT_PRIVATE_KEY!, keyid = testKeyId()): string {
  return new JwtService().sign(claims, { algorithm: 'RS256', privateKey, keyid });
}
