import { STATUS_CODES } from 'node:http';

/** Stable, machine-readable error codes of the contract (and the few it leaves to us). */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  MALFORMED_REQUEST: 'MALFORMED_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  ACCOUNT_BLOCKED: 'ACCOUNT_BLOCKED',
  ACCOUNT_SUSPENDED: 'ACCOUNT_SUSPENDED',
  ACCOUNT_DEACTIVATED: 'ACCOUNT_DEACTIVATED',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  INVALID_CURRENT_PASSWORD: 'INVALID_CURRENT_PASSWORD',
  SELF_CHANGE_FORBIDDEN: 'SELF_CHANGE_FORBIDDEN',
  LAST_ADMIN: 'LAST_ADMIN',
  USER_DEACTIVATED: 'USER_DEACTIVATED',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IDEMPOTENCY_KEY_IN_PROGRESS',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The one vocabulary of errors: each code's HTTP status, and a detail that
 * reads as the service's own (the one sent when the error has none of its
 * own, as for framework errors, and the one in the API document's
 * examples). AppError's type holds every throw to its code's status; the
 * problem body's title and type follow from the status and the code (see
 * problemTitle, problemType), and the OpenAPI examples are built from here.
 *
 * MALFORMED_REQUEST is also sent with the framework's own 4xx status for a
 * request that cannot be read at all (408, 414, 431...).
 */
export const ERROR_CATALOG = {
  VALIDATION_FAILED: { status: 400, detail: 'The request has invalid fields.' },
  MALFORMED_REQUEST: { status: 400, detail: 'The request could not be read.' },
  UNAUTHENTICATED: { status: 401, detail: 'A valid access token is required.' },
  FORBIDDEN: { status: 403, detail: 'You are not allowed to do this.' },
  NOT_FOUND: { status: 404, detail: 'No such resource.' },
  USER_NOT_FOUND: { status: 404, detail: 'No such user.' },
  SESSION_NOT_FOUND: { status: 404, detail: 'No such session.' },
  API_KEY_NOT_FOUND: { status: 404, detail: 'No such API key.' },
  METHOD_NOT_ALLOWED: { status: 405, detail: 'This method is not allowed here.' },
  EMAIL_TAKEN: { status: 409, detail: 'An account with this email already exists.' },
  INVALID_CREDENTIALS: { status: 401, detail: 'The email or password is incorrect.' },
  ACCOUNT_BLOCKED: { status: 403, detail: 'This account is blocked.' },
  ACCOUNT_SUSPENDED: { status: 403, detail: 'This account is suspended.' },
  ACCOUNT_DEACTIVATED: { status: 403, detail: 'This account is deactivated.' },
  REFRESH_TOKEN_REUSED: { status: 401, detail: 'This refresh token was already used; the session has been ended.' },
  TOKEN_INVALID: { status: 400, detail: 'This link is invalid or was already used.' },
  TOKEN_EXPIRED: { status: 400, detail: 'This link has expired; ask for a new one.' },
  INVALID_CURRENT_PASSWORD: { status: 400, detail: 'The current password is incorrect.' },
  SELF_CHANGE_FORBIDDEN: { status: 409, detail: 'You cannot make this change to your own account.' },
  LAST_ADMIN: { status: 409, detail: 'This is the last active admin; promote or reactivate another admin first.' },
  USER_DEACTIVATED: { status: 409, detail: 'This account was deactivated by its owner; its status and role no longer change.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, detail: 'This Idempotency-Key was already used with a different request body.' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, detail: 'A request with this Idempotency-Key is still in progress.' },
  PAYLOAD_TOO_LARGE: { status: 413, detail: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, detail: 'Send the body as application/json.' },
  RATE_LIMITED: { status: 429, detail: 'Too many requests; try again later.' },
  SERVICE_UNAVAILABLE: { status: 503, detail: 'The service is temporarily unavailable.' },
  INTERNAL_ERROR: { status: 500, detail: 'Something went wrong on our side.' },
} as const satisfies Record<ErrorCode, { status: number; detail: string }>;

/** The status a code is answered with. */
export type ErrorStatus<C extends ErrorCode> = (typeof ERROR_CATALOG)[C]['status'];

export const isErrorCode = (value: unknown): value is ErrorCode => typeof value === 'string' && Object.hasOwn(ERROR_CATALOG, value);

/** A problem's `type`: a URN per code (RFC 9457 allows a non-resolvable URI). */
export const problemType = (code: string): string => `urn:problem:user-service:${code.toLowerCase().replace(/_/g, '-')}`;

/** A problem's `title`: the status's reason phrase, the same for every problem of that status. */
export const problemTitle = (status: number): string => STATUS_CODES[status] ?? 'Error';
