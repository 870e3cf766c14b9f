import { createHash } from 'node:crypto';

import type { Response } from 'supertest';

import { PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { AccountTokensRepository } from '../../src/modules/auth/account-tokens.repository.js';
import { TokensService } from '../../src/modules/sessions/tokens.service.js';
import { buildRegistration, type RegisteredUser, registerUser } from '../factories/user.factory.js';
import { waitFor } from '../utils/outbox.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

/**
 * Makes every row written to a table fail, as a broken constraint or a full
 * disk would. Its detail holds the row, as PostgreSQL's own `Failing row
 * contains (…)` does; given '22P02', it quotes the row in its message instead,
 * as a data exception quotes its input.
 */
const FAILING_WRITE = `
  CREATE FUNCTION secrets_in_logs_fail() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_ARGV[0] = '22P02' THEN
      RAISE EXCEPTION 'invalid input syntax for type uuid: "%"', NEW::text USING ERRCODE = '22P02';
    END IF;
    RAISE EXCEPTION 'forced failure on %', TG_TABLE_NAME USING ERRCODE = 'P0001', DETAIL = 'Failing row contains ' || NEW::text || '.';
  END $$`;

/** What a log line may never hold, whatever the request: hashes, SQL, and the fields drivers hang on errors. */
const NEVER_LOGGED: [string, RegExp][] = [
  ['a bcrypt hash', /\$2[aby]\$\d\d\$/],
  ['a SHA-256 in hex (a token hash, or a bytea column of a row)', /[0-9a-f]{64}/i],
  ['a Buffer (a bytea parameter)', /"type":"Buffer"/],
  ['SQL', /INSERT INTO|UPDATE \w+ SET|SELECT .* FROM/],
  ['a failing row', /Failing row/],
  ['driver fields', /"(query|parameters|driverError|detail|where|routine|table|constraint)":/],
];

const LOGGED_ERROR_KEYS = ['cause', 'code', 'message', 'stack', 'type'];

const INTERNAL_ERROR = {
  type: 'urn:problem:user-service:internal-error',
  title: 'Internal Server Error',
  status: 500,
  detail: 'Something went wrong on our side.',
  code: 'INTERNAL_ERROR',
};

describe('Secrets in error logs (e2e)', () => {
  let t: TestApp;
  /** Every password, hash and token the app was sent or made while this file ran, as text might show it. */
  const secrets = new Set<string>();
  /** Mailed tokens the app issued, by `${userId}:${purpose}`. */
  const mailed = new Map<string, string>();
  let sequence = 0;

  function remember<T extends string | Buffer>(value: T): T {
    if (typeof value === 'string') {
      secrets.add(value);
    } else {
      for (const text of [value.toString('hex'), value.toString('base64'), value.toString('base64url'), value.toJSON().data.join(',')]) {
        secrets.add(text);
      }
    }
    return value;
  }

  const rememberToken = (token: string) => {
    remember(token);
    remember(createHash('sha256').update(token).digest());
  };

  beforeAll(async () => {
    t = await bootTestApp({ captureLogs: true });
    await query(t.databaseUrl, FAILING_WRITE);

    // Spied only to learn what the app made (hashes, tokens): every call goes through.
    const hasher = t.app.get(PasswordHasher);
    const hash = hasher.hash.bind(hasher);
    jest.spyOn(hasher, 'hash').mockImplementation(async (password: string) => remember(await hash(remember(password))));
    const tokens = t.app.get(TokensService);
    const issue = tokens.issue.bind(tokens);
    jest.spyOn(tokens, 'issue').mockImplementation(async (...args: Parameters<typeof issue>) => {
      const issued = await issue(...args);
      rememberToken(issued.tokens.refreshToken);
      remember(issued.tokens.accessToken);
      return issued;
    });
    const accountTokens = t.app.get(AccountTokensRepository);
    const issueMailed = accountTokens.issue.bind(accountTokens);
    jest.spyOn(accountTokens, 'issue').mockImplementation(async (...args: Parameters<typeof issueMailed>) => {
      const issued = await issueMailed(...args);
      rememberToken(issued.token);
      mailed.set(`${args[1]}:${args[2]}`, issued.token);
      return issued;
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  async function withFailing<T>(table: string, events: string, work: () => Promise<T>, sqlstate = 'P0001'): Promise<T> {
    await query(
      t.databaseUrl,
      `CREATE TRIGGER secrets_in_logs_fail BEFORE ${events} ON ${table} FOR EACH ROW EXECUTE FUNCTION secrets_in_logs_fail('${sqlstate}')`,
    );
    try {
      return await work();
    } finally {
      await query(t.databaseUrl, `DROP TRIGGER secrets_in_logs_fail ON ${table}`);
    }
  }

  const correlationId = () => `secrets-in-logs-${(sequence += 1)}`;

  const registered = async (): Promise<RegisteredUser> => {
    const user = await registerUser(t.http);
    remember(user.password);
    remember(user.accessToken);
    rememberToken(user.refreshToken);
    return user;
  };

  /** The request failed as a 500 that says nothing about why, and its error was logged in the safe shape. */
  function expectLoggedFailure(response: Response, id: string, logged: { code: string; message: string }): void {
    expect({ status: response.status, contentType: response.headers['content-type'] }).toEqual({
      status: 500,
      contentType: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(response.body).toEqual({ ...INTERNAL_ERROR, correlationId: id });
    expect(response.text).not.toMatch(/forced failure|invalid input|QueryFailedError|P0001|22P02/);

    const line = t.logs().find((entry) => entry.correlationId === id && entry.msg === 'request failed');
    expect(line?.err).toEqual({ type: 'QueryFailedError', ...logged, stack: expect.stringMatching(/^QueryFailedError: .*\n\s+at /) });
  }

  /** No line logged so far holds a secret, SQL, a hash, or an error field beyond the whitelist. */
  function expectNoSecretLogged(...more: string[]): void {
    const lines = t.logs();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const text = JSON.stringify(line);
      for (const [what, pattern] of NEVER_LOGGED) {
        expect({ what, match: text.match(pattern)?.[0], line: line.msg }).toEqual({ what, match: undefined, line: line.msg });
      }
      for (const secret of [...secrets, ...more]) {
        if (text.includes(secret)) throw new Error(`a log line ("${String(line.msg)}") holds a secret: ${secret}`);
      }
      for (let err = line.err as Record<string, unknown> | undefined; err; err = err.cause as Record<string, unknown> | undefined) {
        expect(LOGGED_ERROR_KEYS).toEqual(expect.arrayContaining(Object.keys(err)));
      }
    }
  }

  describe('registration', () => {
    it.each([
      ['the user row (email, password hash)', 'users', 'P0001', 'forced failure on users'],
      ['the user row, quoted in the message of a data exception', 'users', '22P02', 'invalid input syntax for type uuid: "[WITHHELD]"'],
      ['the refresh token hash', 'refresh_tokens', 'P0001', 'forced failure on refresh_tokens'],
      ['the verification token hash', 'user_tokens', 'P0001', 'forced failure on user_tokens'],
      ['the mailed verification token (outbox)', 'outbox_events', 'P0001', 'forced failure on outbox_events'],
    ])('a failed write of %s logs none of it', async (_what, table, sqlstate, message) => {
      const body = buildRegistration();
      remember(body.password);
      const id = correlationId();

      const response = await withFailing(
        table,
        'INSERT',
        () => t.http().post('/api/v1/auth/register').set('X-Correlation-ID', id).send(body),
        sqlstate,
      );

      expectLoggedFailure(response, id, { code: sqlstate, message });
      expectNoSecretLogged(body.email);
    });

    it('refuses a NUL character in a field as a 400 that names it, before any query', async () => {
      const body = buildRegistration({ name: 'Ada\u0000Lovelace' });
      remember(body.password);

      const response = await t.http().post('/api/v1/auth/register').send(body).expect(400);

      expect(response.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'name', message: 'must not contain a NUL character' }],
      });
      expect(await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [body.email])).toHaveLength(0);
      expectNoSecretLogged(body.email);
    });
  });

  describe('login', () => {
    it.each([
      ['the session', 'sessions'],
      ['the refresh token hash', 'refresh_tokens'],
    ])('a failed write of %s logs no password or token', async (_what, table) => {
      const user = await registered();
      const id = correlationId();

      const response = await withFailing(table, 'INSERT', () =>
        t.http().post('/api/v1/auth/login').set('X-Correlation-ID', id).send({ email: user.email, password: user.password }),
      );

      expectLoggedFailure(response, id, { code: 'P0001', message: `forced failure on ${table}` });
      expectNoSecretLogged(user.email);
    });
  });

  describe('refresh', () => {
    it.each([
      ['the new refresh token hash', 'INSERT'],
      ['the spent refresh token', 'UPDATE'],
    ])('a failed write of %s logs neither token nor hash', async (_what, events) => {
      const user = await registered();
      const id = correlationId();

      const response = await withFailing('refresh_tokens', events, () =>
        t.http().post('/api/v1/auth/refresh').set('X-Correlation-ID', id).send({ refreshToken: user.refreshToken }),
      );

      expectLoggedFailure(response, id, { code: 'P0001', message: 'forced failure on refresh_tokens' });
      expectNoSecretLogged(user.email);
    });
  });

  it('password change: a failed write of the new hash logs neither password nor either hash', async () => {
    const user = await registered();
    const newPassword = remember(`Changed-${user.password}`);
    const id = correlationId();

    const response = await withFailing('users', 'UPDATE', () =>
      t
        .http()
        .post('/api/v1/users/me/password')
        .set({ Authorization: `Bearer ${user.accessToken}`, 'X-Correlation-ID': id })
        .send({ currentPassword: user.password, newPassword }),
    );

    expectLoggedFailure(response, id, { code: 'P0001', message: 'forced failure on users' });
    expectNoSecretLogged(user.email);
  });

  it('email verification: a failed write of the spent token logs neither the token nor its hash', async () => {
    const user = await registered();
    const token = mailed.get(`${user.id}:email_verification`)!;
    expect(token).toEqual(expect.any(String));
    const id = correlationId();

    const response = await withFailing('user_tokens', 'UPDATE', () =>
      t.http().post('/api/v1/auth/verify-email').set('X-Correlation-ID', id).send({ token }),
    );

    expectLoggedFailure(response, id, { code: 'P0001', message: 'forced failure on user_tokens' });
    expectNoSecretLogged(user.email);
  });

  describe('password recovery', () => {
    it('forgot password: a failed write of the mailed reset token, in the background, logs neither token nor email', async () => {
      const user = await registered();
      const logged = () => t.logs().filter((line) => line.msg === 'could not process a password reset request');
      const before = logged().length;

      await withFailing('outbox_events', 'INSERT', async () => {
        await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
        await waitFor(async () => logged().length > before);
      });

      expect(mailed.get(`${user.id}:password_reset`)).toEqual(expect.any(String));
      expect(logged().at(-1)?.err).toEqual({
        type: 'QueryFailedError',
        code: 'P0001',
        message: 'forced failure on outbox_events',
        stack: expect.any(String),
      });
      expectNoSecretLogged(user.email);
    });

    it.each([
      ['the spent reset token', 'user_tokens'],
      ['the new password hash', 'users'],
    ])('reset: a failed write of %s logs neither token, hash nor password', async (_what, table) => {
      const user = await registered();
      mailed.delete(`${user.id}:password_reset`);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const token = await waitFor(async () => mailed.get(`${user.id}:password_reset`));
      const tokenHash = createHash('sha256').update(token).digest();
      await waitFor(async () => (await query(t.databaseUrl, 'SELECT 1 FROM user_tokens WHERE token_hash = $1', [tokenHash])).length > 0);
      const newPassword = remember(`Reset-${user.password}`);
      const id = correlationId();

      const response = await withFailing(table, 'UPDATE', () =>
        t.http().post('/api/v1/auth/password/reset').set('X-Correlation-ID', id).send({ token, newPassword }),
      );

      expectLoggedFailure(response, id, { code: 'P0001', message: `forced failure on ${table}` });
      expectNoSecretLogged(user.email);
    });
  });
});
