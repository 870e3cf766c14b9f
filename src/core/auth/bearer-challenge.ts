import { AppError } from '../errors/app-error.js';
import { ERROR_CATALOG, ErrorCode } from '../errors/error-codes.js';

/** The protection space named in every Bearer challenge (RFC 6750 §3). */
export const BEARER_REALM = 'user-service';

/** Why a Bearer token that was sent is refused, as far as a client may be told. */
export type TokenRefusal = 'expired' | 'session_ended' | 'invalid';

/**
 * What the client is told for each. Expired and ended are said only of tokens
 * whose signature held (jsonwebtoken checks the signature before the expiry;
 * revocation is checked after both): a forged or altered token is never told
 * apart from garbage, so the answer says nothing about keys or signatures.
 */
const REFUSALS: Record<TokenRefusal, { detail: string; description: string }> = {
  expired: { detail: 'The access token expired; refresh it or sign in again.', description: 'The access token expired' },
  session_ended: { detail: 'The session of this access token has ended; sign in again.', description: 'The session has ended' },
  invalid: { detail: 'The access token is invalid.', description: 'The access token is invalid' },
};

/** A WWW-Authenticate value (RFC 6750 §3): the realm, and the error when a token was sent and refused. */
export function bearerChallenge(error?: { error: 'invalid_token' | 'insufficient_scope'; description?: string }): string {
  const params = [`realm="${BEARER_REALM}"`];
  if (error) params.push(`error="${error.error}"`);
  if (error?.description) params.push(`error_description="${error.description}"`);
  return `Bearer ${params.join(', ')}`;
}

/**
 * A 401 of a Bearer-protected route where no Bearer token was sent (none at
 * all, another scheme, or an API key): the challenge carries no error code
 * (RFC 6750 §3.1), it only says that a Bearer token is what this route takes.
 */
export function bearerRequired(detail: string = ERROR_CATALOG.UNAUTHENTICATED.detail): AppError {
  return new AppError(ErrorCode.UNAUTHENTICATED, 401, detail).withHeader('WWW-Authenticate', bearerChallenge());
}

/** A 401 for a Bearer token that was sent and refused: error="invalid_token" with a short, safe description. */
export function bearerRefused(refusal: TokenRefusal): AppError {
  const { detail, description } = REFUSALS[refusal];
  return new AppError(ErrorCode.UNAUTHENTICATED, 401, detail).withHeader('WWW-Authenticate', bearerChallenge({ error: 'invalid_token', description }));
}

/** A 403 for a valid Bearer token without the role the route needs: error="insufficient_scope" (RFC 6750 §3.1). */
export function bearerInsufficientRole(): AppError {
  return new AppError(ErrorCode.FORBIDDEN, 403, ERROR_CATALOG.FORBIDDEN.detail).withHeader(
    'WWW-Authenticate',
    bearerChallenge({ error: 'insufficient_scope', description: 'The access token lacks the role this route requires' }),
  );
}
