// Reference (b): GET /api/v1/users/me and /users/me/preferences done by hand.
// Verifies the RS256 access token (signature, exp, iss, aud) with node:crypto
// against the service's public key, then one primary-key SELECT through a
// pg.Pool (max 10) and the JSON (preferences: the defaults when no row). Plain node:http, one process. No revocation check (the service
// does one Redis read per request for it) and no logging.
import { createPublicKey, verify } from 'node:crypto';
import http from 'node:http';

import pg from 'pg';

const port = Number(process.env.PORT);
const publicKey = createPublicKey(process.env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n'));
const issuer = process.env.JWT_ISSUER || 'user-service';
const audience = process.env.JWT_AUDIENCE || 'ecommerce-platform';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);

const SELECT_PREFERENCES = {
  name: 'select-preferences-by-user',
  text: 'SELECT email_notifications, push_notifications, sms_notifications, marketing_emails, language, timezone, push_token FROM user_preferences WHERE user_id = $1',
};
const DEFAULT_PREFERENCES = {
  emailNotifications: true,
  pushNotifications: true,
  smsNotifications: false,
  marketingEmails: false,
  language: 'en',
  timezone: 'UTC',
  pushToken: null,
};

const SELECT_USER = {
  name: 'select-user-by-id',
  text: 'SELECT id, email, name, mobile, role, status, email_verified, created_at, updated_at FROM users WHERE id = $1',
};

/** The claims of a valid token, or null. */
function verifyAccessToken(header) {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  const token = header.slice(7);
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    if (head.alg !== 'RS256') return null;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha256', signed, publicKey, Buffer.from(parts[2], 'base64url'))) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return null;
    if (claims.iss !== issuer) return null;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(audience)) return null;
    if (typeof claims.sub !== 'string') return null;
    return claims;
  } catch {
    return null;
  }
}

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendUser(res, row) {
  if (!row) return send(res, 404, { status: 404, code: 'USER_NOT_FOUND' });
  send(res, 200, {
    id: row.id,
    email: row.email,
    name: row.name,
    mobile: row.mobile,
    role: row.role,
    status: row.status,
    emailVerified: row.email_verified,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

function sendPreferences(res, row) {
  if (!row) return send(res, 200, DEFAULT_PREFERENCES);
  send(res, 200, {
    emailNotifications: row.email_notifications,
    pushNotifications: row.push_notifications,
    smsNotifications: row.sms_notifications,
    marketingEmails: row.marketing_emails,
    language: row.language,
    timezone: row.timezone,
    pushToken: row.push_token,
  });
}

const ROUTES = {
  '/api/v1/users/me': [SELECT_USER, sendUser],
  '/api/v1/users/me/preferences': [SELECT_PREFERENCES, sendPreferences],
};

const server = http.createServer((req, res) => {
  const route = req.method === 'GET' ? ROUTES[req.url] : undefined;
  if (!route) return send(res, 404, { status: 404 });
  const claims = verifyAccessToken(req.headers.authorization);
  if (!claims) return send(res, 401, { status: 401, code: 'UNAUTHENTICATED' });
  const [query, reply] = route;
  pool.query({ ...query, values: [claims.sub] }).then(
    ({ rows }) => reply(res, rows[0]),
    () => send(res, 500, { status: 500 }),
  );
});

server.listen(port, '127.0.0.1', () => process.send?.({ ready: port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  server.close(() => pool.end().finally(() => process.exit(0)));
  server.closeAllConnections();
});
