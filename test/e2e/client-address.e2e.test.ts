import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, query, type TestApp } from '../utils/test-app.js';

/**
 * Which address a request comes from decides per-address limits, lockouts and
 * the address a session records. Requests here come from 127.0.0.1; whether
 * that peer is a trusted proxy is what each app's TRUST_PROXY says.
 */
const PER_ADDRESS_LOGIN_LIMIT = 5;

async function failedLogins(t: TestApp, count: number, forwardedFor: (i: number) => string | undefined): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const call = t.http().post('/api/v1/auth/login');
    const header = forwardedFor(i);
    if (header) call.set('X-Forwarded-For', header);
    // A new email each time: only the per-address limit is in play.
    statuses.push((await call.send({ email: `nobody-${i}@example.com`, password: 'Wrong-password-1' })).status);
  }
  return statuses;
}

async function sessionAddress(t: TestApp, forwardedFor: string): Promise<string | null> {
  const user = await registerUser(t.http);
  await t.http().post('/api/v1/auth/login').set('X-Forwarded-For', forwardedFor).send({ email: user.email, password: user.password }).expect(200);
  const [latest] = await query<{ ip: string | null }>(
    t.databaseUrl,
    'SELECT ip FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1',
    [user.id],
  );
  return latest!.ip;
}

describe('Client address behind proxies (e2e)', () => {
  const limitEnv = { RATE_LIMIT_LOGIN_LIMIT: String(PER_ADDRESS_LOGIN_LIMIT), RATE_LIMIT_LOGIN_WINDOW_SECONDS: '600' };

  describe('when the caller is not a trusted proxy', () => {
    let t: TestApp;
    beforeAll(async () => {
      // The gateway is elsewhere: this caller's X-Forwarded-For is its own invention.
      t = await bootTestApp({ env: { ...limitEnv, TRUST_PROXY: '10.20.30.0/24' } });
    });
    afterAll(() => t.close());

    it('ignores a forged X-Forwarded-For: a new value per request does not reset the per-address limit', async () => {
      const statuses = await failedLogins(t, PER_ADDRESS_LOGIN_LIMIT + 3, (i) => `198.51.100.${i + 1}`);
      expect(statuses.slice(0, PER_ADDRESS_LOGIN_LIMIT)).toEqual(Array(PER_ADDRESS_LOGIN_LIMIT).fill(401));
      expect(statuses.slice(PER_ADDRESS_LOGIN_LIMIT)).toEqual([429, 429, 429]);
    });

    it('records the peer address, not the forged one, on the session', async () => {
      // The limit above is spent for this address; a fresh app would be needed to sign in, so check on one.
      const fresh = await bootTestApp({ env: { TRUST_PROXY: '10.20.30.0/24' } });
      try {
        expect(await sessionAddress(fresh, '203.0.113.9')).toMatch(/127\.0\.0\.1$/);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('without TRUST_PROXY', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { ...limitEnv, TRUST_PROXY: undefined } });
    });
    afterAll(() => t.close());

    it('trusts no X-Forwarded-For at all', async () => {
      const statuses = await failedLogins(t, PER_ADDRESS_LOGIN_LIMIT + 1, (i) => `198.51.100.${i + 1}`);
      expect(statuses.at(-1)).toBe(429);
    });
  });

  describe('behind the trusted gateway (its address listed)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { ...limitEnv, TRUST_PROXY: '127.0.0.1/32, ::1' } });
    });
    afterAll(() => t.close());

    it('takes the address the gateway saw: clients behind it have limits of their own', async () => {
      const first = await failedLogins(t, PER_ADDRESS_LOGIN_LIMIT + 1, () => '192.0.2.10');
      expect(first.at(-1)).toBe(429);
      // Another client behind the same gateway is not limited by the first one.
      expect(await failedLogins(t, 1, () => '192.0.2.11')).toEqual([401]);
    });

    it("ignores entries a client put in front of the gateway's own", async () => {
      // The client wrote "192.0.2.10" itself; the gateway appended the address it really saw.
      expect(await failedLogins(t, 1, () => '192.0.2.10, 192.0.2.12')).toEqual([401]);
      expect(await sessionAddress(t, '203.0.113.50, 192.0.2.13')).toBe('192.0.2.13');
    });
  });

  describe("behind a gateway in the private ranges (the chart's default, loopback,uniquelocal)", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await bootTestApp({ env: { TRUST_PROXY: 'loopback,uniquelocal' } });
    });
    afterAll(() => t.close());

    it('takes the nearest public address, however many entries a client wrote before it', async () => {
      // Client-written entries, then the client's public address, then an in-cluster hop.
      expect(await sessionAddress(t, '203.0.113.50, 198.51.100.7, 10.1.2.3')).toBe('198.51.100.7');
    });
  });
});
