import { ERROR_CATALOG, ErrorCode, isErrorCode, problemTitle, problemType } from './error-codes.js';
import { normalizeError } from './problem-details.filter.js';

describe('ERROR_CATALOG', () => {
  it('gives every code an error status and a detail written as a sentence', () => {
    for (const code of Object.values(ErrorCode)) {
      const { status, detail } = ERROR_CATALOG[code];
      expect({ code, error: status >= 400 && status < 600 }).toEqual({ code, error: true });
      expect(detail).toMatch(/^[A-Z].*\.$/);
    }
    expect(Object.keys(ERROR_CATALOG).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('agrees with the codes the filter gives framework errors, which carry only a status', () => {
    for (const status of [400, 401, 403, 404, 405, 413, 415, 429, 503]) {
      const { code } = normalizeError({ statusCode: status });
      expect({ status, code, catalog: ERROR_CATALOG[code].status }).toEqual({ status, code, catalog: status });
    }
  });

  it('names problems by code and titles them by status', () => {
    expect(problemType('IDEMPOTENCY_KEY_REUSED')).toBe('urn:problem:user-service:idempotency-key-reused');
    expect(problemTitle(405)).toBe('Method Not Allowed');
    expect(problemTitle(499)).toBe('Error');
    expect(isErrorCode('PAYLOAD_TOO_LARGE')).toBe(true);
    expect(isErrorCode('BODY_LIMIT_BYTES')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });
});
