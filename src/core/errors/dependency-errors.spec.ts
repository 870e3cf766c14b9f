import { QueryFailedError } from 'typeorm';

import { isDatabaseUnavailable } from './dependency-errors.js';
import { normalizeError } from './problem-details.filter.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset socket', withCode('ECONNRESET', 'read ECONNRESET')],
    ['pg losing its connection', new Error('Connection terminated unexpectedly')],
    ['pg-pool timing out on connect', new Error('timeout exceeded when trying to connect')],
    ['the server shutting down, wrapped by TypeORM', wrapped(withCode('57P01', 'terminating connection due to administrator command'))],
    ['the server starting up', wrapped(withCode('57P03', 'the database system is starting up'))],
    ['a connection exception (class 08)', wrapped(withCode('08006', 'connection failure'))],
    ['too many connections', withCode('53300', 'sorry, too many clients already')],
    ['a cause chain', new Error('outer', { cause: new Error('Connection terminated due to connection timeout') })],
  ])('is true for %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', wrapped(withCode('23505', 'duplicate key value'))],
    ['a NUL byte refused', wrapped(withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00'))],
    ['a statement timeout', wrapped(withCode('57014', 'canceling statement due to statement timeout'))],
    ['a programming error', new TypeError('x is not a function')],
    ['not an error', 'ECONNREFUSED'],
  ])('is false for %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('makes such an error a 503 SERVICE_UNAVAILABLE with Retry-After and our own words', () => {
    expect(normalizeError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toEqual({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      detail: 'The service is temporarily unavailable.',
      retryAfterSeconds: 2,
    });
    expect(normalizeError(wrapped(withCode('23505'))).status).toBe(500);
  });
});
