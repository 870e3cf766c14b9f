import { createRemoteJWKSet, jwtVerify } from 'jose';

import { generateRsaKeyPair, SigningKeys } from '../../src/core/auth/signing-keys.js';
import { registerUser } from '../factories/user.factory.js';
import { bearer, createAdmin } from '../utils/admin.js';
import { bootTestApp, createTestDatabase, type TestApp } from '../utils/test-app.js';
import { signWithTestKey, testKeyId } from '../utils/test-tokens.js';

const SERVER_SECRET = 'a-server-secret-of-the-rotation-test-0123456789';
const TTL_SECONDS = 60;

const keyA = () => ({ JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY, JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY });
const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

/** The README's rotation procedure, step by step, on two instances replaced one at a time (a rolling deploy). */
describe('Signing-key rotation (e2e)', () => {
  const keyB = generateRsaKeyPair();
  const kidB = new SigningKeys(keyB.privateKeyPem, keyB.publicKeyPem).kid;
  let database: { url: string; drop: () => Promise<void> };
  const open: TestApp[] = [];

  const boot = async (env: Record<string, string | undefined>) => {
    const t = await bootTestApp({ databaseUrl: database.url, env: { SERVER_SECRET, ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS), ...env } });
    open.push(t);
    return t;
  };
  const shut = async (t: TestApp) => {
    open.splice(open.indexOf(t), 1);
    await t.close();
  };
  const kids = async (t: TestApp) => ((await t.http().get('/.well-known/jwks.json').expect(200)).body as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await database?.drop();
  });

  it('rolls from key A to key B with no request refused, and a JWKS verifier (jose) accepts tokens of both keys throughout', async () => {
    const step0 = [await boot(keyA()), await boot(keyA())];
    const user = await registerUser(step0[0]!.http);
    const tokens = [user.accessToken];
    let live = [...step0];
    const refused: string[] = [];
    let sent = 0;
    // Every token, on every instance that is up, over and over while the instances are replaced.
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        for (const t of [...live]) {
          for (const token of [...tokens]) {
            // An instance taken out of `live` may be closing under this request: only live ones count.
            const status = await t
              .http()
              .get('/api/v1/users/me')
              .set('Authorization', `Bearer ${token}`)
              .then((response) => response.status, (error: Error) => error.message);
            sent += 1;
            if (status !== 200 && live.includes(t)) refused.push(`${status} kid ${kidOf(token)}`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // Step 1: publish B as the next key, one instance after the other.
    const step1 = [await boot({ ...keyA(), JWT_NEXT_PUBLIC_KEY: keyB.publicKeyPem })];
    live = [step0[1]!, step1[0]!];
    await shut(step0[0]!);
    step1.push(await boot({ ...keyA(), JWT_NEXT_PUBLIC_KEY: keyB.publicKeyPem }));
    live = [...step1];
    await shut(step0[1]!);
    expect(await kids(step1[0]!)).toEqual([testKeyId(), kidB]);

    // Step 2: B signs, A is retired now; one instance first, the other still on step 1.
    const retiredAt = new Date().toISOString();
    const step2Env = {
      JWT_PRIVATE_KEY: keyB.privateKeyPem,
      JWT_PUBLIC_KEY: keyB.publicKeyPem,
      JWT_PREVIOUS_PUBLIC_KEYS: process.env.TEST_JWT_PUBLIC_KEY,
      JWT_PREVIOUS_KEYS_RETIRED_AT: retiredAt,
    };
    const step2 = [await boot(step2Env)];
    live = [step1[1]!, step2[0]!];
    const signedByB = await step2[0]!.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(kidOf(signedByB.body.accessToken)).toBe(kidB);
    tokens.push(signedByB.body.accessToken);
    // A token of the old instance, still signing with A, after B took over elsewhere.
    const lateA = await step1[1]!.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(kidOf(lateA.body.accessToken)).toBe(testKeyId());
    tokens.push(lateA.body.accessToken);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await shut(step1[0]!);
    step2.push(await boot(step2Env));
    live = [...step2];
    await shut(step1[1]!);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await traffic;

    expect(refused).toEqual([]);
    expect(sent).toBeGreaterThan(20);
    expect(await kids(step2[0]!)).toEqual([kidB, testKeyId()]);

    // What a gateway does: fetch the JWKS, pick the key by kid, verify issuer and audience.
    await step2[0]!.app.listen(0, '127.0.0.1');
    const jwks = createRemoteJWKSet(new URL(`${await step2[0]!.app.getUrl()}/.well-known/jwks.json`));
    for (const token of tokens) {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: 'user-service', audience: 'ecommerce-platform' });
      expect(payload.sub).toBe(user.id);
      expect([testKeyId(), kidB]).toContain(protectedHeader.kid);
    }
  }, 90_000);

  it('refuses a retired key once its tokens can no longer be alive, and leaves it out of the JWKS', async () => {
    const token = (await registerUser((await boot(keyA())).http)).accessToken;
    const retired = (retiredAgoSeconds: number) =>
      boot({
        JWT_PRIVATE_KEY: keyB.privateKeyPem,
        JWT_PUBLIC_KEY: keyB.publicKeyPem,
        JWT_PREVIOUS_PUBLIC_KEYS: process.env.TEST_JWT_PUBLIC_KEY,
        JWT_PREVIOUS_KEYS_RETIRED_AT: new Date(Date.now() - retiredAgoSeconds * 1000).toISOString(),
      });
    // Within its lifetime (retirement + access-token lifetime + 60 s of clock skew): accepted.
    const within = await retired(TTL_SECONDS);
    await within.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(await kids(within)).toContain(testKeyId());
    // Past it: refused, though the token's own exp may not have passed, and gone from the JWKS.
    const past = await retired(TTL_SECONDS + 61);
    const response = await past.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
    expect(await kids(past)).toEqual([kidB]);
  });

  it('verifies a token only with the key its kid names: an unknown kid, a missing kid or a kid of another key is refused', async () => {
    const t = await boot(keyA());
    const user = await registerUser(t.http);
    const claims = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    await t.http().get('/api/v1/users/me').set(bearer(signWithTestKey(claims))).expect(200);
    await t.http().get('/api/v1/users/me').set(bearer(signWithTestKey(claims, undefined, 'no-such-kid'))).expect(401);
    await t.http().get('/api/v1/users/me').set(bearer(signWithTestKey(claims, keyB.privateKeyPem, testKeyId()))).expect(401);
    const { JwtService } = await import('@nestjs/jwt');
    const withoutKid = new JwtService().sign(claims, { algorithm: 'RS256', privateKey: process.env.TEST_JWT_PRIVATE_KEY });
    await t.http().get('/api/v1/users/me').set(bearer(withoutKid)).expect(401);
  });

  it('keeps Idempotency-Key answers and list cursors across the rotation: SERVER_SECRET, not the signing key, seals them', async () => {
    const before = await boot(keyA());
    const admin = await createAdmin(before);
    const rotated = await boot({
      JWT_PRIVATE_KEY: keyB.privateKeyPem,
      JWT_PUBLIC_KEY: keyB.publicKeyPem,
      JWT_PREVIOUS_PUBLIC_KEYS: process.env.TEST_JWT_PUBLIC_KEY,
      JWT_PREVIOUS_KEYS_RETIRED_AT: new Date().toISOString(),
    });
    const body = { email: `rotation-${Date.now()}@example.com`, password: 'Rotation-pass-42', name: 'Rotation Test', role: 'user' };
    const create = (t: TestApp) => t.http().post('/api/v1/admin/users').set(bearer(admin.accessToken)).set('Idempotency-Key', 'rotation-create').send(body);
    const first = await create(before).expect(201);
    const replayed = await create(rotated).expect(201);
    expect(replayed.body).toEqual(first.body);

    const page = await before.http().get('/api/v1/admin/users?limit=1').set(bearer(admin.accessToken)).expect(200);
    expect(page.body.meta.nextCursor).toEqual(expect.any(String));
    await rotated.http().get(`/api/v1/admin/users?limit=1&cursor=${encodeURIComponent(page.body.meta.nextCursor)}`).set(bearer(admin.accessToken)).expect(200);

    // The control: without SERVER_SECRET the secret was the signing key's, and the same repeat after a rotation is not recognized.
    const derived = await boot({ ...keyA(), SERVER_SECRET: undefined });
    const derivedRotated = await boot({
      SERVER_SECRET: undefined,
      JWT_PRIVATE_KEY: keyB.privateKeyPem,
      JWT_PUBLIC_KEY: keyB.publicKeyPem,
      JWT_PREVIOUS_PUBLIC_KEYS: process.env.TEST_JWT_PUBLIC_KEY,
      JWT_PREVIOUS_KEYS_RETIRED_AT: new Date().toISOString(),
    });
    const other = { ...body, email: `rotation-derived-${Date.now()}@example.com` };
    const send = (t: TestApp) => t.http().post('/api/v1/admin/users').set(bearer(admin.accessToken)).set('Idempotency-Key', 'rotation-derived').send(other);
    await send(derived).expect(201);
    expect((await send(derivedRotated)).status).not.toBe(201);
  });

  it('serves the JWKS with Cache-Control shorter than the overlap and an ETag, answering 304 to If-None-Match', async () => {
    const t = await boot({ ...keyA(), JWT_NEXT_PUBLIC_KEY: keyB.publicKeyPem });
    const first = await t.http().get('/.well-known/jwks.json').expect(200);
    expect(first.headers['cache-control']).toBe(`public, max-age=${TTL_SECONDS / 3}`);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    await t.http().get('/.well-known/jwks.json').set('If-None-Match', etag).expect(304);
    const other = await boot(keyA());
    const changed = await other.http().get('/.well-known/jwks.json').set('If-None-Match', etag).expect(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});
