import { createHash } from 'node:crypto';

/**
 * Claims of access tokens whose signature was already checked, so a token
 * presented again (every page view sends the same one) skips the RSA verify,
 * the largest cost of an authenticated request. Keyed by a SHA-256 of the
 * whole token: only the exact bytes that were verified match, never a token
 * that merely shares a signature. An entry is used only before its exp, and
 * the oldest go first once the memo is full. Everything else (revocation,
 * the claims' shape) is still checked on every request.
 */
export class VerifiedTokens<Claims extends { exp: number }> {
  private readonly claimsByDigest = new Map<string, Claims>();

  constructor(private readonly capacity: number) {}

  get(token: string): Claims | undefined {
    const digest = digestOf(token);
    const claims = this.claimsByDigest.get(digest);
    if (claims && claims.exp <= nowInSeconds()) {
      this.claimsByDigest.delete(digest);
      return undefined;
    }
    return claims;
  }

  remember(token: string, claims: Claims): void {
    if (this.capacity <= 0) return;
    if (this.claimsByDigest.size >= this.capacity) {
      this.claimsByDigest.delete(this.claimsByDigest.keys().next().value!);
    }
    this.claimsByDigest.set(digestOf(token), claims);
  }

  get size(): number {
    return this.claimsByDigest.size;
  }
}

const digestOf = (token: string) => createHash('sha256').update(token).digest('base64url');

// Like jsonwebtoken, whose expiry check compares whole seconds.
const nowInSeconds = () => Math.floor(Date.now() / 1000);
