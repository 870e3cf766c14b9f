import { registerUser } from '../factories/user.factory.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

/** The printed command of the last mail to `email`: its route and body, as a person would copy them. */
function printedMail(lines: string[], email: string): { path: string; body: Record<string, string> } | undefined {
  const at = lines.findLastIndex((line) => line.startsWith(`[mail to ${email}]`));
  if (at === -1) return undefined;
  const command = /curl -si -X POST http:\/\/localhost:\d+(\S+) -H 'Content-Type: application\/json' -d '(.+)'$/.exec(lines[at]!.split('\n')[1]!.trim());
  return command ? { path: command[1]!, body: JSON.parse(command[2]!) } : undefined;
}

describe('mail in development (PRINT_MAIL)', () => {
  let printed: string[];
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ env: { PRINT_MAIL: 'true' } });
  });
  beforeEach(() => {
    printed = [];
    jest.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => t.close());

  it('prints the verification mail of a registration as a command that verifies the email', async () => {
    const user = await registerUser(t.http);
    const mail = printedMail(printed, user.email);
    expect(mail?.path).toBe('/api/v1/auth/verify-email');
    await t.http().post(mail!.path).send(mail!.body).expect(204);
    const me = await t.http().get('/api/v1/users/me').auth(user.accessToken, { type: 'bearer' }).expect(200);
    expect(me.body.emailVerified).toBe(true);
  });

  it('prints the reset mail of a forgotten password; the printed command, with a new password, resets it', async () => {
    const user = await registerUser(t.http);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    // The answer does not wait for the work (its timing must not tell whether the email exists).
    const reset = () => printedMail(printed, user.email)?.path === '/api/v1/auth/password/reset';
    for (let waited = 0; !reset() && waited < 5_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    const mail = printedMail(printed, user.email);
    expect(mail?.path).toBe('/api/v1/auth/password/reset');
    expect(mail!.body.newPassword).toBe('<new password>');
    await t.http().post(mail!.path).send({ ...mail!.body, newPassword: 'Brand-new-2026' }).expect(204);
    await t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'Brand-new-2026' }).expect(200);
  });

  it('prints nothing for an unknown email (the answer is 202 all the same)', async () => {
    await t.http().post('/api/v1/auth/password/forgot').send({ email: 'nobody-here@example.com' }).expect(202);
    expect(printed.filter((line) => line.startsWith('[mail to'))).toEqual([]);
  });
});

describe('mail outside development', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('is not printed unless PRINT_MAIL is set (tests run with NODE_ENV=test)', async () => {
    const printed: string[] = [];
    jest.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
    const user = await registerUser(t.http);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    jest.restoreAllMocks();
    expect(printed.filter((line) => line.startsWith('[mail to'))).toEqual([]);
  });
});
