import { Writable } from 'node:stream';

import { DatabaseError } from 'pg';
import pino from 'pino';
import { QueryFailedError } from 'typeorm';

import { errorLogging, safeErrorMessage, serializeError } from './error-serializer.js';

const EMAIL = 'ada-secret@example.com';
const HASH = '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5pC1Ew3yDoVG6kW.bZ5TxXGfA6S8yGe';
const TOKEN_HASH = Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex');

/** A QueryFailedError as TypeORM builds it from the pg driver's error. */
function queryFailed(code: string, message: string, detail?: string): QueryFailedError {
  const driverError = Object.assign(new DatabaseError(message, 100, 'error'), {
    severity: 'ERROR',
    code,
    detail,
    table: 'users',
    constraint: 'users_email_key',
    where: 'PL/pgSQL function x() line 3 at RAISE',
    routine: '_bt_check_unique',
  });
  return new QueryFailedError(
    'INSERT INTO "users"("email", "password_hash", "name") VALUES ($1, $2, $3)',
    [EMAIL, HASH, TOKEN_HASH],
    driverError,
  );
}

function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    logger: pino({ ...errorLogging }, stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('serializeError', () => {
  it("keeps a failed query's type, SQLSTATE, message and stack, and none of its query, parameters or driver error", () => {
    const error = queryFailed('23505', 'duplicate key value violates unique constraint "users_email_key"', `Key (email)=(${EMAIL}) already exists.`);

    const logged = serializeError(error);

    expect(Object.keys(logged).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(logged).toMatchObject({
      type: 'QueryFailedError',
      code: '23505',
      message: 'duplicate key value violates unique constraint "users_email_key"',
    });
    expect(logged.stack).toMatch(/^QueryFailedError: duplicate key value/);
    const text = JSON.stringify(logged);
    for (const secret of [EMAIL, HASH, TOKEN_HASH.toString('hex'), TOKEN_HASH.toString('base64'), 'INSERT INTO', 'Key (email)', '_bt_check_unique']) {
      expect(text).not.toContain(secret);
    }
  });

  it('withholds the values a data exception quotes, in the message and in the stack', () => {
    const error = queryFailed('22P02', `invalid input syntax for type uuid: "${HASH}"`);

    const logged = serializeError(error);

    expect(logged.message).toBe('invalid input syntax for type uuid: "[WITHHELD]"');
    expect(logged.stack).toMatch(/^QueryFailedError: invalid input syntax for type uuid: "\[WITHHELD\]"\n\s+at /);
    expect(JSON.stringify(logged)).not.toContain(HASH);
  });

  it.each([
    ['22P02', 'invalid input value for enum user_role: "sup"er"', 'invalid input value for enum user_role: "[WITHHELD]"'],
    ['22003', 'value "123456789012" is out of range for type integer', 'value "[WITHHELD]" is out of range for type integer'],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0xe2 0x28', 'invalid byte sequence for encoding "[WITHHELD]": 0x[WITHHELD]'],
    ['22001', 'value too long for type character varying(100)', 'value too long for type character varying(100)'],
    ['23502', 'null value in column "name" of relation "users" violates not-null constraint', 'null value in column "name" of relation "users" violates not-null constraint'],
    ['P0001', 'audit_entries is append-only (UPDATE refused)', 'audit_entries is append-only (UPDATE refused)'],
    ['ECONNREFUSED', 'connect ECONNREFUSED "127.0.0.1":5432', 'connect ECONNREFUSED "127.0.0.1":5432'],
  ])('message of a %s error', (code, message, logged) => {
    expect(safeErrorMessage(message, code)).toBe(logged);
  });

  it('keeps a whitelisted cause, recursively, and stops at cycles and depth', () => {
    const root = new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET', config: { password: 'hunter2' } }) });
    const cyclic: Error & { cause?: unknown } = new Error('cyclic');
    cyclic.cause = cyclic;
    let deep = new Error('level 0');
    for (let level = 1; level <= 20; level += 1) deep = new Error(`level ${level}`, { cause: deep });

    expect(serializeError(root).cause).toEqual({ type: 'Error', code: 'ECONNRESET', message: 'inner', stack: expect.any(String) });
    expect(JSON.stringify(serializeError(root))).not.toContain('hunter2');
    expect(serializeError(cyclic).cause).toBeUndefined();
    expect(JSON.stringify(serializeError(deep)).match(/level \d+/g)!.length).toBeLessThanOrEqual(12);
  });

  it('shapes whatever was thrown, errors or not', () => {
    expect(serializeError('plain text')).toEqual({ type: 'string', message: 'plain text' });
    expect(serializeError(null)).toEqual({ type: 'object', message: 'null' });
    expect(serializeError({ message: 'thrown object', code: 7, parameters: [EMAIL] })).toEqual({ type: 'Object', code: 7, message: 'thrown object' });
    expect(serializeError({ code: 'x'.repeat(65), message: 'long code' })).not.toHaveProperty('code');
  });
});

describe('errorLogging (pino options)', () => {
  const error = () => queryFailed('22P02', `invalid input syntax for type uuid: "${EMAIL}"`, `Failing row contains (${EMAIL}, ${HASH}).`);

  it.each([
    ['logger.error(error)', (logger: pino.Logger) => logger.error(error())],
    ['logger.error({ err })', (logger: pino.Logger) => logger.error({ err: error() })],
    ['logger.error({ err }, message)', (logger: pino.Logger) => logger.error({ err: error() }, 'request failed')],
    ['logger.error({ error }, message)', (logger: pino.Logger) => logger.error({ error: error() }, 'request failed')],
  ])('%s writes only the safe shape, and a safe message', (_call, log) => {
    const { logger, lines } = capture();

    log(logger);

    const [line] = lines();
    const logged = (line!.err ?? line!.error) as Record<string, unknown>;
    expect(Object.keys(logged).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(line!.msg).toEqual(expect.stringMatching(/^(request failed|invalid input syntax for type uuid: "\[WITHHELD\]")$/));
    const text = JSON.stringify(line);
    for (const secret of [EMAIL, HASH, TOKEN_HASH.toString('hex'), 'INSERT INTO', 'Failing row', 'parameters', 'driverError']) {
      expect(text).not.toContain(secret);
    }
  });

  it('leaves lines without errors alone', () => {
    const { logger, lines } = capture();

    logger.info({ route: '/api/v1/users/me', statusCode: 200 }, 'request completed');

    expect(lines()[0]).toMatchObject({ route: '/api/v1/users/me', statusCode: 200, msg: 'request completed' });
  });
});
