import { registerUser } from '../factories/user.factory.js';
import { outboxEvents } from '../utils/outbox.js';
import { appBehindRedisProxy, bootTestApp, describeWithRedis, type TestApp } from '../utils/test-app.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const DEFAULTS = {
  emailNotifications: true,
  pushNotifications: true,
  smsNotifications: false,
  marketingEmails: false,
  language: 'en',
  timezone: 'UTC',
  pushToken: null,
};

describe('Preferences (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('starts at the contract defaults', async () => {
    const user = await registerUser(t.http);
    const { body } = await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200);
    expect(body).toEqual(DEFAULTS);
  });

  it('PATCH changes any subset, canonicalizes the language, records preferences.updated, and reads see it at once', async () => {
    const user = await registerUser(t.http);
    await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200); // now cached
    const { body } = await t
      .http()
      .patch('/api/v1/users/me/preferences')
      .set(bearer(user.accessToken))
      .send({ marketingEmails: true, language: 'pt-br', timezone: 'America/Sao_Paulo', pushToken: 'device-token-1' })
      .expect(200);
    const expected = { ...DEFAULTS, marketingEmails: true, language: 'pt-BR', timezone: 'America/Sao_Paulo', pushToken: 'device-token-1' };
    expect(body).toEqual(expected);
    expect((await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200)).body).toEqual(expected);

    const cleared = await t.http().patch('/api/v1/users/me/preferences').set(bearer(user.accessToken)).send({ pushToken: null }).expect(200);
    expect(cleared.body.pushToken).toBeNull();
    const events = await outboxEvents(t.databaseUrl, user.id, 'preferences.updated');
    expect(events).toHaveLength(2);
    expect(events[0].payload).toMatchObject({ userId: user.id, preferences: expected });

    // An empty PATCH changes nothing and records nothing.
    await t.http().patch('/api/v1/users/me/preferences').set(bearer(user.accessToken)).send({}).expect(200);
    expect(await outboxEvents(t.databaseUrl, user.id, 'preferences.updated')).toHaveLength(2);
  });

  it.each([
    [{ language: 'english please' }, 'language'],
    [{ language: '' }, 'language'],
    [{ timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    [{ timezone: '+02:00' }, 'timezone'],
    [{ emailNotifications: 'yes' }, 'emailNotifications'],
    [{ smsNotifications: 1 }, 'smsNotifications'],
    [{ pushToken: 42 }, 'pushToken'],
    [{ theme: 'dark' }, 'theme'],
  ])('rejects %j with a field error on %s', async (body, field) => {
    const user = await registerUser(t.http);
    const response = await t.http().patch('/api/v1/users/me/preferences').set(bearer(user.accessToken)).send(body).expect(400);
    expect(response.body.errors).toEqual([{ field, message: expect.any(String) }]);
    expect((await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken))).body).toEqual(DEFAULTS);
  });

  it('needs a token', async () => {
    await t.http().get('/api/v1/users/me/preferences').expect(401);
    await t.http().patch('/api/v1/users/me/preferences').send({}).expect(401);
  });
});

describeWithRedis('Preferences and profile reads with Redis (e2e)', () => {
  const redisApp = appBehindRedisProxy();

  it('serves reads from Redis, answers from the database while Redis is down, and never serves a stale value after', async () => {
    const { t, proxy } = redisApp;
    const user = await registerUser(t.http);
    await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200);
    await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200);

    await proxy.stop();
    await t.http().patch('/api/v1/users/me/preferences').set(bearer(user.accessToken)).send({ language: 'de' }).expect(200);
    await t.http().patch('/api/v1/users/me').set(bearer(user.accessToken)).send({ name: 'Changed While Down' }).expect(200);
    expect((await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200)).body.language).toBe('de');
    expect((await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200)).body.name).toBe('Changed While Down');

    // Redis comes back holding the values cached before the writes: they must not be served.
    await proxy.start();
    for (let i = 0; i < 20; i += 1) {
      expect((await t.http().get('/api/v1/users/me/preferences').set(bearer(user.accessToken)).expect(200)).body.language).toBe('de');
      expect((await t.http().get('/api/v1/users/me').set(bearer(user.accessToken)).expect(200)).body.name).toBe('Changed While Down');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);
});
