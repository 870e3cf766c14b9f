import { Parser } from '@asyncapi/parser';

import { bootTestApp, type TestApp } from '../utils/test-app.js';

// The contract's Messaging section, written out here so that a name dropped from the document fails.
const PUBLISHED = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.status_changed',
  'user.role_changed',
  'user.email_verification_requested',
  'user.email_verified',
  'user.password_reset_requested',
  'user.password_changed',
  'preferences.updated',
  'session.revoked',
  'notification.dispatch',
  'notification.suppressed',
];
const PATTERNS = ['users.get', 'users.get_many', 'auth.verify_token', 'preferences.get'];
const CONSUMED = ['notification.requested'];

type Doc = {
  asyncapi: string;
  channels: Record<string, { address: string; messages?: Record<string, unknown> }>;
  operations: Record<string, { action: string; reply?: unknown; messages?: { $ref: string }[] }>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: unknown[] }> }>; messages: Record<string, unknown> };
};

describe('AsyncAPI document at /asyncapi.json (e2e)', () => {
  let t: TestApp;
  let doc: Doc;
  let text: string;
  beforeAll(async () => {
    t = await bootTestApp();
    const response = await t.http().get('/asyncapi.json').expect(200).expect('Content-Type', /application\/json/);
    doc = response.body as Doc;
    text = JSON.stringify(doc);
  });
  afterAll(() => t?.close());

  it('is a valid AsyncAPI 3 document', async () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    const diagnostics = await new Parser().validate(doc as never);
    // Severity 0 is an error, 1 a warning (2 and 3 are hints such as "a newer version exists").
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`)).toEqual([]);
  });

  it('has every event, pattern and consumed event of the contract', () => {
    for (const name of [...PUBLISHED, ...PATTERNS, ...CONSUMED]) expect(text).toContain(`"${name}"`);
    const published = Object.values(doc.operations).filter((operation) => operation.action === 'send' && !operation.reply);
    expect(published.length).toBeGreaterThanOrEqual(PUBLISHED.length);
    const withReply = Object.values(doc.operations).filter((operation) => operation.reply);
    expect(withReply).toHaveLength(PATTERNS.length);
    const addresses = Object.values(doc.channels).map((channel) => channel.address);
    expect(addresses).toEqual(expect.arrayContaining([t.config.messaging.serviceQueue, t.config.messaging.deadLetterQueue]));
    // Events are addressed by routing key on the exchange, which the bindings name.
    expect(addresses).toEqual(expect.arrayContaining(PUBLISHED));
    expect(text).toContain(`"${t.config.messaging.eventsExchange}"`);
  });

  it('takes its payload schemas from the classes the code validates and answers with', () => {
    const { schemas } = doc.components;
    expect(Object.keys(schemas.UserResponse?.properties ?? {})).toEqual(
      expect.arrayContaining(['id', 'email', 'name', 'mobile', 'role', 'status', 'emailVerified', 'createdAt', 'updatedAt']),
    );
    expect(schemas.NotificationRequestedMessage?.properties?.channel?.enum).toEqual(['email', 'push', 'sms']);
    expect(schemas.InvalidTokenReply?.properties?.reason?.enum).toEqual(
      expect.arrayContaining(['expired', 'tampered', 'logged_out', 'revoked', 'blocked', 'suspended', 'deactivated']),
    );
    expect(Object.keys(schemas.RpcErrorReply?.properties ?? {})).toEqual(expect.arrayContaining(['code', 'message']));
    expect(text).not.toContain('passwordHash');
  });

  it('is linked from the OpenAPI description shown at /docs', async () => {
    const openapi = await t.http().get('/docs-json').expect(200);
    expect(openapi.body.info.description).toContain('/asyncapi.json');
  });
});
