/// <reference lib="dom" />
// (The callbacks of page.evaluate run in the browser.)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { type Browser, chromium, type Page, type Request, type Response } from 'playwright-core';

import { CONSOLE_CSP } from '../../src/modules/admin/console/admin-console.js';
import { AUDIT_ACTIONS } from '../../src/modules/audit/audit.service.js';
import { USER_ROLES, USER_STATUSES } from '../../src/modules/users/user.entity.js';
import { type RegisteredUser, registerUser } from '../factories/user.factory.js';
import { auditRows, bearer, bootstrapAdminEnv, signIn } from '../utils/admin.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const PUBLIC = join(__dirname, '..', '..', 'src', 'modules', 'admin', 'console', 'public');
const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  const why = `no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run does it)`;
  // Under CI the browser tests are part of the bar: a machine without the browser fails the run.
  if (process.env.CI === 'true') throw new Error(`CI=true but ${why}`);
  console.warn(`\n${'!'.repeat(78)}\n!! admin console browser tests SKIPPED: ${why}\n${'!'.repeat(78)}\n`);
}
const describeInBrowser = haveChromium ? describe : describe.skip;

describe('admin console (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp({ redis: false });
  });
  afterAll(() => t?.close());

  it('serves the page with a strict CSP, no framing and no caching of stale copies', async () => {
    const page = await t.http().get('/console').expect(200);

    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toContain('unsafe');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-cache');
    // No inline script or style for the CSP to allow, and nothing loaded from another host.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/i);
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);

    const script = await t.http().get('/console/console.js').expect(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.text).toBe(readFileSync(join(PUBLIC, 'console.js'), 'utf8'));
    expect(script.text).not.toMatch(/localStorage\.|document\.cookie|\.innerHTML|\.outerHTML|insertAdjacentHTML|\beval\(|new Function/);
    await t.http().get('/console/console.css').expect(200).expect('content-type', 'text/css; charset=utf-8');
    await t.http().get('/console/').expect(301).expect('location', '/console');
    await t.http().get('/console/tsconfig.json').expect(404);
    await t.http().post('/console').send({}).expect(405).expect('allow', /GET/);

    const index = await t.http().get('/').expect(200);
    expect(index.body.links.console).toBe('/console');
  });

  it('offers exactly the statuses, roles and audit actions the API takes', () => {
    const html = readFileSync(join(PUBLIC, 'index.html'), 'utf8');
    const options = (name: string) => [...new RegExp(`<select name="${name}">([\\s\\S]*?)</select>`).exec(html)![1]!.matchAll(/value="([^"]*)"/g)].map((m) => m[1]).filter(Boolean);

    expect(options('status')).toEqual([...USER_STATUSES]);
    expect(options('role')).toEqual([...USER_ROLES]);
    expect(options('action')).toEqual([...AUDIT_ACTIONS]);
  });

  it('is not served when ADMIN_CONSOLE_ENABLED=false', async () => {
    const off = await bootTestApp({ redis: false, env: { ADMIN_CONSOLE_ENABLED: 'false' }, databaseUrl: t.databaseUrl });
    try {
      await off.http().get('/console').expect(404);
      await off.http().get('/console/console.js').expect(404);
      expect((await off.http().get('/').expect(200)).body.links.console).toBeUndefined();
    } finally {
      await off.app.close();
    }
  });
});

/** What went wrong in a page: console errors, script errors, failed requests, and answers nobody expected. */
class PageWatch {
  readonly problems: string[] = [];
  readonly hosts = new Set<string>();
  /** `METHOD path status` of the error answers a step provokes on purpose. */
  private readonly expected = new Set<string>();
  private readonly errorStatuses = new Set<number>();
  private readonly consoleErrors: string[] = [];
  readonly requests: string[] = [];

  constructor(page: Page) {
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') this.consoleErrors.push(message.text());
    });
    page.on('requestfailed', (request: Request) => this.problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`));
    page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.protocol.startsWith('http')) this.hosts.add(url.host);
      this.requests.push(`${request.method()} ${url.pathname}`);
    });
    page.on('response', (response: Response) => {
      if (response.status() < 400) return;
      const line = `${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`;
      if (this.expected.has(line)) this.errorStatuses.add(response.status());
      else this.problems.push(`unexpected answer: ${line}`);
    });
  }

  expect(line: string): void {
    this.expected.add(line);
  }

  /** Everything seen so far; the browser's own "Failed to load resource" lines are fine for the answers a step provoked. */
  assertClean(): void {
    const unexplained = this.consoleErrors.filter((text) => {
      const status = /Failed to load resource: the server responded with a status of (\d+)/.exec(text)?.[1];
      return status === undefined || !this.errorStatuses.has(Number(status));
    });
    expect([...this.problems, ...unexplained.map((text) => `console: ${text}`)]).toEqual([]);
  }
}

describeInBrowser('admin console in Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  const prefix = `zed${randomBytes(3).toString('hex')}`;
  let seeded: RegisteredUser[];
  let target: RegisteredUser;
  let plain: RegisteredUser;
  let hostile: RegisteredUser;

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  const ready = (page: Page) => page.locator('body[data-ready="true"]').waitFor();

  async function signInThroughPage(page: Page, email: string, password: string) {
    await page.locator('#sign-in-form [name=email]').fill(email);
    await page.locator('#sign-in-form [name=password]').fill(password);
    await page.locator('#sign-in-form button[type=submit]').click();
  }

  async function openUser(page: Page, email: string) {
    await page.locator('#user-filters [name=q]').fill(email);
    await page.locator('#user-filters button[type=submit]').click();
    await page.locator('#users-table tbody button', { hasText: email }).click();
    await page.locator('#detail-fields', { hasText: email }).waitFor();
  }

  async function act(page: Page, action: string, fields: { reason?: string; until?: string } = {}) {
    await page.locator(`#detail-actions [data-action="${action}"]`).click();
    if (fields.until !== undefined) await page.locator('#action-form [name=until]').fill(fields.until);
    if (fields.reason !== undefined) await page.locator('#action-form [name=reason]').fill(fields.reason);
    await page.locator('#action-confirm').click();
  }

  /**
   * The console in a fresh browser context (closed afterwards), loaded and done with its first work; the body
   * gets the page and its watch, which must have seen nothing wrong by the end.
   */
  async function inConsole(body: (page: Page, watch: PageWatch) => Promise<void>, options: { clock?: boolean; viewport?: { width: number; height: number } } = {}) {
    const context = await browser.newContext(options.viewport ? { viewport: options.viewport } : {});
    // Fake timers before the page loads, so a test can move the page's clock past the access token's lifetime.
    if (options.clock) await context.clock.install();
    const page = await context.newPage();
    const watch = new PageWatch(page);
    try {
      await page.goto(`${base}/console`);
      await ready(page);
      await body(page, watch);
      watch.assertClean();
    } finally {
      await context.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await bootTestApp({ env: { ...bootstrapAdminEnv(), MAX_SESSIONS_PER_USER: '100' } });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    // More than a page of users under one prefix, so paging is part of the flow.
    seeded = [];
    for (let i = 1; i <= 23; i += 1) {
      seeded.push(await registerUser(t.http, { email: `${prefix}-${String(i).padStart(2, '0')}@example.com`, name: `Seeded Person ${i}` }));
    }
    target = seeded[6]!;
    // The target's session as support staff would see it.
    const agent = 'Mozilla/5.0 (X11; Linux x86_64) ConsoleTestBrowser/1.0';
    target = { ...target, ...(await signIn(t, target.email, target.password, { 'User-Agent': agent })) };
    plain = await registerUser(t.http);
    hostile = await registerUser(t.http, { name: '<img src=x onerror="window.pwned=1">' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('refuses a plain user in words, and ends the session that sign-in opened', () =>
    inConsole(async (page, watch) => {
      await shot(page, 'sign-in');
      await signInThroughPage(page, plain.email, plain.password);

      await page.locator('#error', { hasText: 'not an administrator' }).waitFor();
      expect(await page.locator('#sign-in-view').isVisible()).toBe(true);
      expect(await page.locator('#users-view').isVisible()).toBe(false);
      await shot(page, 'refused');
      // Only the registration's session is left: the console logged out the one it opened.
      const sessions = await t.http().get('/api/v1/auth/sessions').set(bearer(plain.accessToken)).expect(200);
      expect(sessions.body).toHaveLength(1);
      expect(watch.requests).toEqual(expect.arrayContaining(['POST /api/v1/auth/login', 'POST /api/v1/auth/logout']));
      expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
    }));

  it('keeps the tab signed in across a reload while the service is briefly unavailable', () =>
    inConsole(async (page, watch) => {
      const admin = t.config.admin;
      await signInThroughPage(page, admin.email!, admin.password!);
      await page.locator('#users-table tbody tr').first().waitFor();

      // The refresh a reload starts with meets a 503 (as when the database is down for a moment).
      const detail = 'A dependency is unavailable; retry shortly.';
      await page.route('**/api/v1/auth/refresh', (route) =>
        route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ status: 503, code: 'SERVICE_UNAVAILABLE', detail }) }),
      );
      watch.expect('POST /api/v1/auth/refresh 503');
      await page.reload();
      await ready(page);
      await page.locator('#error', { hasText: detail }).waitFor();
      expect(await page.locator('#sign-in-view').isVisible()).toBe(true);
      expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(['user-service.console.refreshToken']);

      // Back up: the next reload signs straight back in.
      await page.unroute('**/api/v1/auth/refresh');
      await page.reload();
      await ready(page);
      expect(await page.locator('#users-view').isVisible()).toBe(true);
    }));

  it('lets an admin find, suspend, audit and unblock a user, refreshing its token and signing out when the session ends', () =>
    inConsole(async (page, watch) => {
      const admin = t.config.admin;
      // The same admin through the API, for what the test checks beside the page.
      const elsewhere = await signIn(t, admin.email!, admin.password!);
      await signInThroughPage(page, admin.email!, admin.password!);

      // Users, with the stats at a glance.
      await page.locator('#users-table tbody tr').first().waitFor();
      await page.locator('#stats dt', { hasText: 'Users' }).waitFor();
      expect(await page.locator('#stats div', { hasText: 'Users' }).locator('dd').textContent()).toBe(String(seeded.length + 3));
      expect(await page.locator('#whoami-email').textContent()).toBe(admin.email);

      // Search by prefix and page through with the cursor.
      await page.locator('#user-filters [name=q]').fill(prefix);
      await page.locator('#user-filters button[type=submit]').click();
      await page.locator('#users-page', { hasText: 'Page 1' }).waitFor();
      await expectRows(page, 20);
      const firstPage = await page.locator('#users-table tbody tr td:first-child').allTextContents();
      expect(firstPage.every((email) => email.startsWith(`${prefix}-`))).toBe(true);
      await shot(page, 'users');
      await page.locator('#users-next').click();
      await page.locator('#users-page', { hasText: 'Page 2' }).waitFor();
      await expectRows(page, 3);
      expect(await page.locator('#users-next').isDisabled()).toBe(true);
      const secondPage = await page.locator('#users-table tbody tr td:first-child').allTextContents();
      expect(new Set([...firstPage, ...secondPage])).toEqual(new Set(seeded.map((user) => user.email)));
      await page.locator('#users-prev').click();
      await page.locator('#users-page', { hasText: 'Page 1' }).waitFor();

      // Filters: status and role.
      await page.locator('#user-filters [name=q]').fill('');
      await page.locator('#user-filters [name=role]').selectOption('admin');
      await page.locator('#user-filters button[type=submit]').click();
      await expectRows(page, 1);
      expect(await page.locator('#users-table tbody td:first-child').textContent()).toBe(admin.email);
      await page.locator('#user-filters [name=role]').selectOption('');

      // A name is shown as the text it is, never run as HTML.
      await openUser(page, hostile.email);
      expect(await page.locator('#detail-title').textContent()).toBe('<img src=x onerror="window.pwned=1">');
      expect(await page.locator('#user-detail img').count()).toBe(0);
      expect(await page.evaluate(() => 'pwned' in window)).toBe(false);

      // A user's detail and sessions.
      await openUser(page, target.email);
      expect(await page.locator('#detail-fields').textContent()).toContain('Signed up');
      await page.locator('#sessions-table tbody tr', { hasText: 'ConsoleTestBrowser/1.0' }).waitFor();
      expect(await page.locator('#sessions-table tbody tr').count()).toBe(2);
      await shot(page, 'user-sessions');

      // The access token lives 15 minutes: past that, the page refreshes it before its next request.
      await page.clock.fastForward('16:00');
      const refreshed = page.waitForResponse((response) => response.url().endsWith('/api/v1/auth/refresh') && response.status() === 200);
      // Suspend, with a date and a reason.
      const until = new Date(Date.now() + 3 * 86_400_000);
      await act(page, 'suspend', { until: localInputValue(until), reason: 'Chargeback investigation, ticket #4821' });
      await refreshed;
      await page.locator('#notice', { hasText: 'User suspended' }).waitFor();
      await page.locator('#detail-fields .badge.suspended').waitFor();
      expect(await page.locator('#detail-fields').textContent()).toContain('Chargeback investigation, ticket #4821');
      await shot(page, 'user-detail');
      // The user's own token stops working at once.
      await t.http().get('/api/v1/users/me').set(bearer(target.accessToken)).expect(401);
      const stored = (await t.http().get(`/api/v1/admin/users/${target.id}`).set(bearer(elsewhere.accessToken)).expect(200)).body;
      expect(stored).toMatchObject({ status: 'suspended', statusReason: 'Chargeback investigation, ticket #4821' });
      expect(Math.abs(Date.parse(stored.statusUntil) - until.getTime())).toBeLessThan(60_000);

      // The audit entry, through the user's audit trail.
      await page.locator('#detail-actions [data-action="audit"]').click();
      const entry = page.locator('#audit-table tbody tr', { hasText: 'user.status_changed' });
      await entry.waitFor();
      expect(await entry.textContent()).toContain('Chargeback investigation, ticket #4821');
      expect(await entry.textContent()).toContain('status: active → suspended');
      expect(await page.locator('#audit-filters [name=targetId]').inputValue()).toBe(target.id);
      await shot(page, 'audit-log');
      // Its filters: by action.
      await page.locator('#audit-filters [name=targetId]').fill('');
      await page.locator('#audit-filters [name=action]').selectOption('user.sessions_revoked');
      await page.locator('#audit-filters button[type=submit]').click();
      await page.locator('#audit-empty').waitFor();
      // And by actor, from an entry's actor.
      await page.locator('#audit-filters [name=action]').selectOption('');
      await page.locator('#audit-filters [name=targetId]').fill(target.id);
      await page.locator('#audit-filters button[type=submit]').click();
      await page.locator('#audit-table tbody tr td:nth-child(3) button').first().click();
      await page.waitForFunction(() => (document.querySelector('#audit-filters [name=actorId]') as HTMLInputElement).value.length === 36);
      expect(await page.locator('#audit-filters [name=targetId]').inputValue()).toBe('');

      // Back to the user from the entry, and unblock them.
      await page.locator('#audit-clear').click();
      await page.locator('#audit-table tbody tr', { hasText: 'user.status_changed' }).locator('td:nth-child(4) button').click();
      await page.locator('#detail-fields', { hasText: target.email }).waitFor();
      await act(page, 'unblock', { reason: 'Investigation closed' });
      await page.locator('#notice', { hasText: 'User unblocked' }).waitFor();
      await page.locator('#detail-fields .badge.active').waitFor();
      await signIn(t, target.email, target.password);

      // Promote and demote, reason optional.
      await act(page, 'promote', { reason: 'Joins support' });
      await page.locator('#notice', { hasText: 'now an admin' }).waitFor();
      await page.locator('#detail-fields .badge.admin').waitFor();
      await act(page, 'demote');
      await page.locator('#notice', { hasText: 'now a plain user' }).waitFor();
      expect(await page.locator('#detail-fields .badge.admin').count()).toBe(0);
      // End every session: the list empties and the user's token is refused.
      const fresh = await signIn(t, target.email, target.password, { 'User-Agent': 'ConsoleTestPhone/2.0' });
      await openUser(page, target.email);
      await page.locator('#sessions-table tbody tr', { hasText: 'ConsoleTestPhone/2.0' }).waitFor();
      await act(page, 'end-sessions');
      await page.locator('#notice', { hasText: 'Every session of the user ended' }).waitFor();
      await page.locator('#sessions-empty').waitFor();
      await t.http().get('/api/v1/users/me').set(bearer(fresh.accessToken)).expect(401);
      // Block another user, with a reason.
      await openUser(page, seeded[0]!.email);
      await act(page, 'block', { reason: 'Fraudulent orders' });
      await page.locator('#notice', { hasText: 'User blocked' }).waitFor();
      await page.locator('#detail-fields .badge.blocked').waitFor();
      await t.http().get('/api/v1/users/me').set(bearer(seeded[0]!.accessToken)).expect(401);
      // Each change went through the admin API, so each is in the audit log with its reason.
      const trail = (await auditRows(t.databaseUrl, target.id)).map((row) => [row.action, row.reason]);
      expect(trail).toEqual([
        ['user.status_changed', 'Chargeback investigation, ticket #4821'],
        ['user.status_changed', 'Investigation closed'],
        ['user.role_changed', 'Joins support'],
        ['user.role_changed', null],
        ['user.sessions_revoked', null],
      ]);

      // The API's refusal, in its words: an admin cannot block themself.
      await openUser(page, admin.email!);
      const refusal = `PATCH /api/v1/admin/users/${elsewhere.user.id}/status 409`;
      watch.expect(refusal);
      await act(page, 'block', { reason: 'Testing self-protection' });
      const error = page.locator('#error');
      await error.locator('strong').waitFor();
      expect(await error.textContent()).toContain('You cannot block your own account.');
      expect(await error.textContent()).toContain('SELF_CHANGE_FORBIDDEN');
      await shot(page, 'refusal');

      // A reload stays signed in through the tab's refresh token; no token anywhere else.
      await page.reload();
      await ready(page);
      expect(await page.locator('#users-view').isVisible()).toBe(true);
      const storage = await page.evaluate(() => ({
        local: localStorage.length,
        cookie: document.cookie,
        session: Object.keys(sessionStorage),
        jwt: Object.values(sessionStorage).some((value) => /^eyJ/.test(value)),
      }));
      expect(storage).toEqual({ local: 0, cookie: '', session: ['user-service.console.refreshToken'], jwt: false });

      // Every session of the admin ends elsewhere: the page's next request is refused, its refresh too, and it signs out.
      await t.http().post('/api/v1/auth/logout-all').set(bearer(elsewhere.accessToken)).expect(204);
      watch.expect('GET /api/v1/admin/stats 401');
      watch.expect('GET /api/v1/admin/users 401');
      watch.expect('POST /api/v1/auth/refresh 401');
      await page.locator('.tab[data-view="users"]').click();
      await page.locator('#notice', { hasText: 'Your session has ended' }).waitFor();
      expect(await page.locator('#sign-in-view').isVisible()).toBe(true);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      await shot(page, 'signed-out');

      expect([...watch.hosts]).toEqual([new URL(base).host]);
    }, { clock: true, viewport: { width: 1400, height: 900 } }), 120_000);
});

async function expectRows(page: Page, count: number) {
  await page.waitForFunction((n) => document.querySelectorAll('#users-table tbody tr').length === n, count);
}

/** The value a datetime-local input takes for a moment (the browser's time zone is the machine's). */
function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
