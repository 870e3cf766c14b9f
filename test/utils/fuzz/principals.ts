import { createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';

import * as fc from 'fast-check';

import { buildRegistration, registerUser } from '../../factories/user.factory.js';
import { signIn } from '../admin.js';
import type { TestApp } from '../test-app.js';
import { testKeyId } from '../test-tokens.js';

/**
 * The credentials and ids a fuzz case can name symbolically (Sym), resolved
 * when the request is sent: generated cases stay replayable from a seed while
 * the ids of a run are new every time.
 */
export type SymName =
  | 'user.id'
  | 'user.email'
  | 'user.password'
  | 'user.sessionId'
  | 'user.otherSessionId'
  | 'user.otherRefreshToken'
  | 'admin.id'
  | 'admin.email'
  | 'apiKey.id'
  | 'bystander.id';

export class Sym {
  constructor(readonly name: SymName) {}
  [fc.toStringMethod](): string {
    return `<${this.name}>`;
  }
}

/** An ISO date-time this many seconds from the moment the request is sent (negative: in the past). */
export class RelativeDate {
  constructor(readonly seconds: number) {}
  [fc.toStringMethod](): string {
    return `<now${this.seconds >= 0 ? '+' : ''}${this.seconds}s>`;
  }
}

/** Every kind of credential a case can present. */
export const CREDENTIALS = [
  'none',
  'user',
  'admin',
  'apiKey',
  'malformedBearer',
  'expiredToken',
  'foreignKeyToken',
  'tamperedToken',
  'algNoneToken',
  'hmacConfusionToken',
  'wrongAudienceToken',
  'unknownApiKey',
] as const;
export type Credential = (typeof CREDENTIALS)[number];

/** What the malformed-Bearer credential sends, picked by the case. */
export const MALFORMED_AUTHORIZATIONS = [
  'Bearer',
  'Bearer ',
  'Bearer abc',
  'Bearer a.b.c',
  'Bearer eyJhbGciOiJSUzI1NiJ9.e30.',
  `Bearer ${'A'.repeat(8000)}`,
  'Basic dXNlcjpwYXNzd29yZA==',
  'Token abc',
  'Bearer %00',
  'Bearer ../../etc/passwd',
  "Bearer ' OR '1'='1",
];

/** What the unknown-API-key credential sends: well-formed keys nobody issued, and junk. */
export const UNKNOWN_API_KEYS = [
  `usk_abcdefgh_${'A'.repeat(43)}`,
  `usk_zzzzzzzz_${'B'.repeat(42)}Q`,
  'usk_',
  'usk_short',
  'not-a-key',
  'A'.repeat(5000),
  "' OR '1'='1",
];

export interface Principals {
  user: { id: string; email: string; password: string; accessToken: string; sessionId: string };
  /** A second session of the same user: its refresh token may be spent and its id ended without harming `user`. */
  other: { sessionId: string; refreshToken: string };
  admin: { id: string; email: string; password: string; accessToken: string };
  apiKey?: { id: string; key: string };
  /** A user nobody signs in as: the id of somebody else. */
  bystanderId: string;
  forged: Record<'expiredToken' | 'foreignKeyToken' | 'tamperedToken' | 'algNoneToken' | 'hmacConfusionToken' | 'wrongAudienceToken', string>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

function signRs256(claims: Record<string, unknown>, privateKey: string, kid: string): string {
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url')}`;
}

let foreignKey: string | undefined;

/** Tokens a client could hold or make that must all be refused: expired, signed by another key, altered, unsigned, HS256 over the public key, another audience. */
export function forgedTokens(validToken: string): Principals['forged'] {
  foreignKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ours = process.env.TEST_JWT_PRIVATE_KEY!;
  const kid = testKeyId();
  const claims = claimsOf(validToken);
  const now = Math.floor(Date.now() / 1000);
  const [header, payload, signature] = validToken.split('.');
  const hmacUnsigned = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${payload}`;
  return {
    expiredToken: signRs256({ ...claims, iat: now - 7200, exp: now - 3600 }, ours, kid),
    foreignKeyToken: signRs256({ ...claims, iat: now, exp: now + 600 }, foreignKey, kid),
    tamperedToken: `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`,
    algNoneToken: `${b64({ alg: 'none', typ: 'JWT', kid })}.${payload}.`,
    hmacConfusionToken: `${hmacUnsigned}.${createHmac('sha256', process.env.TEST_JWT_PUBLIC_KEY!).update(hmacUnsigned).digest('base64url')}`,
    wrongAudienceToken: signRs256({ ...claims, aud: 'someone-else', iat: now, exp: now + 600 }, ours, kid),
  };
}

const claimedSession = (token: string) => String(claimsOf(token).sid);

/**
 * Makes the seeded principals through the API, as clients would, and mends
 * them after a case ended a session, blocked, deactivated or promoted the
 * user or the admin, or revoked the key: only the broken part is replaced
 * (signing in again where that suffices), so destructive operations stay cheap.
 */
export class Seeds {
  private readonly fastify;

  constructor(
    private readonly t: TestApp,
    /** Makes the admins: never used by a fuzz case, so no case can take its rights away. */
    private readonly rootAdminToken: string,
    private readonly bystanderId: string,
    private readonly withApiKey: boolean,
  ) {
    this.fastify = t.app.getHttpAdapter().getInstance();
  }

  async fresh(): Promise<Principals> {
    const user = await this.newUser();
    const admin = await this.newAdmin();
    return { ...user, admin, apiKey: await this.newApiKey(admin.accessToken), bystanderId: this.bystanderId };
  }

  /** Puts every broken part of `p` right again, in place. */
  async repair(p: Principals): Promise<void> {
    if (!(await this.holds(p.user.accessToken, 'user'))) {
      const again = await this.signIn(p.user.email, p.user.password, 'user');
      if (again) {
        p.user.accessToken = again.accessToken;
        p.user.sessionId = claimedSession(again.accessToken);
        p.forged = forgedTokens(again.accessToken);
      } else Object.assign(p, await this.newUser());
    }
    if (!(await this.holds(p.admin.accessToken, 'admin'))) {
      const again = await this.signIn(p.admin.email, p.admin.password, 'admin');
      p.admin = again ? { ...p.admin, accessToken: again.accessToken } : await this.newAdmin();
    }
    if (this.withApiKey) {
      const byKey = p.apiKey && (await this.fastify.inject({ method: 'GET', url: `/api/v1/users/${p.user.id}`, headers: { 'x-api-key': p.apiKey.key } }));
      if (!byKey || byKey.statusCode !== 200) p.apiKey = await this.newApiKey(p.admin.accessToken);
    }
  }

  /** Whether a token still signs in an active account of this role. */
  private async holds(token: string, role: string): Promise<boolean> {
    const me = await this.fastify.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}` } });
    return me.statusCode === 200 && me.json().role === role && me.json().status === 'active';
  }

  private async signIn(email: string, password: string, role: string): Promise<{ accessToken: string; refreshToken: string } | undefined> {
    const response = await this.fastify.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    if (response.statusCode !== 200) return undefined;
    const body = response.json();
    return body.user.role === role && body.user.status === 'active' ? body : undefined;
  }

  private async newUser(): Promise<Pick<Principals, 'user' | 'other' | 'forged'>> {
    const registered = await registerUser(this.t.http);
    const second = await signIn(this.t, registered.email, registered.password);
    return {
      user: { id: registered.id, email: registered.email, password: registered.password, accessToken: registered.accessToken, sessionId: claimedSession(registered.accessToken) },
      other: { sessionId: claimedSession(second.accessToken), refreshToken: second.refreshToken },
      forged: forgedTokens(registered.accessToken),
    };
  }

  private async newAdmin(): Promise<Principals['admin']> {
    const body = buildRegistration();
    const created = await this.fastify.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: { authorization: `Bearer ${this.rootAdminToken}` },
      payload: { email: body.email, password: body.password, name: body.name, role: 'admin' },
    });
    if (created.statusCode !== 201) throw new Error(`could not create an admin: ${created.statusCode} ${created.payload}`);
    const tokens = await signIn(this.t, body.email, body.password);
    return { id: created.json().id, email: body.email, password: body.password, accessToken: tokens.accessToken };
  }

  private async newApiKey(adminToken: string): Promise<Principals['apiKey']> {
    if (!this.withApiKey) return undefined;
    const response = await this.fastify.inject({
      method: 'POST',
      url: '/api/v1/admin/api-keys',
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { name: `fuzz-${randomBytes(4).toString('hex')}`, scopes: ['users:read'] },
    });
    return response.statusCode === 201 ? { id: response.json().id, key: response.json().key } : undefined;
  }
}

export function resolveSym(sym: Sym, p: Principals): string {
  switch (sym.name) {
    case 'user.id':
      return p.user.id;
    case 'user.email':
      return p.user.email;
    case 'user.password':
      return p.user.password;
    case 'user.sessionId':
      return p.user.sessionId;
    case 'user.otherSessionId':
      return p.other.sessionId;
    case 'user.otherRefreshToken':
      return p.other.refreshToken;
    case 'admin.id':
      return p.admin.id;
    case 'admin.email':
      return p.admin.email;
    case 'apiKey.id':
      return p.apiKey?.id ?? '00000000-0000-4000-8000-000000000000';
    case 'bystander.id':
      return p.bystanderId;
  }
}

/** The headers a credential sends (`pick` chooses among the malformed and unknown variants). */
export function credentialHeaders(credential: Credential, pick: number, p: Principals): Record<string, string> {
  switch (credential) {
    case 'none':
      return {};
    case 'user':
      return { authorization: `Bearer ${p.user.accessToken}` };
    case 'admin':
      return { authorization: `Bearer ${p.admin.accessToken}` };
    case 'apiKey':
      return p.apiKey ? { 'x-api-key': p.apiKey.key } : { 'x-api-key': UNKNOWN_API_KEYS[0]! };
    case 'malformedBearer':
      return { authorization: MALFORMED_AUTHORIZATIONS[pick % MALFORMED_AUTHORIZATIONS.length]! };
    case 'unknownApiKey':
      return { 'x-api-key': UNKNOWN_API_KEYS[pick % UNKNOWN_API_KEYS.length]! };
    default:
      return { authorization: `Bearer ${p.forged[credential]}` };
  }
}
