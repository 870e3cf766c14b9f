import { registerUser, type RegisteredUser } from '../factories/user.factory.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

/**
 * The login lockout policy (LoginLockout): failures only, per account and
 * address, progressive; beyond the account-wide cap only addresses without
 * failures get in. Addresses are set through X-Forwarded-For, which the app
 * believes because the test client (127.0.0.1) is its trusted gateway.
 */
const FAILURES_PER_ADDRESS = 3;
const FAILURES_PER_ACCOUNT = 6;

describe('Login lockout (e2e, Redis when present)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        TRUST_PROXY: 'loopback',
        LOGIN_LOCKOUT_FAILURES: String(FAILURES_PER_ADDRESS),
        LOGIN_LOCKOUT_SECONDS: '1',
        LOGIN_LOCKOUT_MAX_SECONDS: '2',
        LOGIN_ACCOUNT_LOCKOUT_FAILURES: String(FAILURES_PER_ACCOUNT),
        LOGIN_ACCOUNT_LOCKOUT_WINDOW_SECONDS: '600',
      },
    });
  });
  afterAll(() => t.close());

  const login = (email: string, password: string, from: string) =>
    t.http().post('/api/v1/auth/login').set('X-Forwarded-For', from).send({ email, password });
  const wrong = (user: { email: string }, from: string) => login(user.email, 'Not-the-password-1', from);
  const right = (user: RegisteredUser, from: string) => login(user.email, user.password, from);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("lets the owner in from their own address after a stranger's ten wrong passwords", async () => {
    const owner = await registerUser(t.http);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await wrong(owner, '198.51.100.1')).status);
    expect(statuses.slice(0, FAILURES_PER_ADDRESS)).toEqual(Array(FAILURES_PER_ADDRESS).fill(401));
    expect(statuses.slice(FAILURES_PER_ADDRESS)).toEqual(Array(10 - FAILURES_PER_ADDRESS).fill(429));

    await right(owner, '192.0.2.1').expect(200);
  });

  it('locks the guessing address out whatever the password, for longer after each further failure', async () => {
    const owner = await registerUser(t.http);
    for (let i = 0; i < FAILURES_PER_ADDRESS; i += 1) await wrong(owner, '198.51.100.2').expect(401);

    // Even the right password: an answer that differed would tell the guesser it had guessed right.
    const first = await right(owner, '198.51.100.2').expect(429);
    expect(first.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(first.headers['retry-after']).toBe('1');

    await sleep(1_100);
    await wrong(owner, '198.51.100.2').expect(401);
    expect((await wrong(owner, '198.51.100.2').expect(429)).headers['retry-after']).toBe('2');

    await sleep(2_100);
    await wrong(owner, '198.51.100.2').expect(401);
    // Capped at LOGIN_LOCKOUT_MAX_SECONDS.
    expect((await wrong(owner, '198.51.100.2').expect(429)).headers['retry-after']).toBe('2');
  });

  it("clears an address's failures when it signs in", async () => {
    const owner = await registerUser(t.http);
    for (let i = 0; i < FAILURES_PER_ADDRESS - 1; i += 1) await wrong(owner, '192.0.2.3').expect(401);
    await right(owner, '192.0.2.3').expect(200);
    for (let i = 0; i < FAILURES_PER_ADDRESS - 1; i += 1) await wrong(owner, '192.0.2.3').expect(401);
    await right(owner, '192.0.2.3').expect(200);
  });

  it('caps guessing spread over many addresses, and still lets an address without failures in', async () => {
    const owner = await registerUser(t.http);
    for (let i = 0; i < FAILURES_PER_ACCOUNT; i += 1) await wrong(owner, `198.51.100.${10 + i}`).expect(401);

    // An address that already failed is out, even with the right password...
    await right(owner, '198.51.100.10').expect(429);
    // ...a new one gets a single try...
    await wrong(owner, '198.51.100.99').expect(401);
    await wrong(owner, '198.51.100.99').expect(429);
    // ...and the owner, from an address that never failed, gets in.
    await right(owner, '192.0.2.4').expect(200);
  });

  it('answers unknown emails exactly like accounts', async () => {
    const ghost = { email: `nobody-${Date.now()}@example.com` };
    for (let i = 0; i < FAILURES_PER_ADDRESS; i += 1) await wrong(ghost, '198.51.100.5').expect(401);
    const locked = await wrong(ghost, '198.51.100.5').expect(429);
    expect(locked.headers['retry-after']).toBe('1');
  });

  it('keeps accounts apart: a locked-out address may still sign in to another account', async () => {
    const target = await registerUser(t.http);
    const other = await registerUser(t.http);
    for (let i = 0; i < FAILURES_PER_ADDRESS; i += 1) await wrong(target, '198.51.100.6').expect(401);
    await right(target, '198.51.100.6').expect(429);
    await right(other, '198.51.100.6').expect(200);
  });

  it('counts lockouts in the login metrics', async () => {
    const { text } = await t.http().get('/metrics').expect(200);
    expect(text).toMatch(/auth_login_total\{outcome="locked_out"\} [1-9]/);
  });
});
