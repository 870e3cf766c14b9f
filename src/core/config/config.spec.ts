import { createPrivateKey, createPublicKey } from 'node:crypto';
import { resolve } from 'node:path';

import { generateRsaKeyPair } from '../auth/signing-keys.js';
import { ConfigError, loadConfig } from './config.js';

const pair = generateRsaKeyPair();

const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:secret@db:5432/users',
  REDIS_URL: 'redis://cache:6379',
  RABBITMQ_URL: 'amqp://mq:5672',
  JWT_PRIVATE_KEY: pair.privateKeyPem,
  JWT_PUBLIC_KEY: pair.publicKeyPem,
};

function configErrorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});

    expect(config).toEqual({
      nodeEnv: 'development',
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      migrationsOnStart: true,
      dataDir: resolve('.data'),
      embeddedDatabasePort: 54329,
      redisUrl: undefined,
      redisKeyPrefix: 'user-service',
      rabbitmqUrl: undefined,
      messaging: {
        eventsExchange: 'user.events',
        serviceQueue: 'user-service',
        outboxRetentionSeconds: 7 * 86_400,
        outboxLeaseSeconds: 30,
        deadLetterQueue: 'user-service.dead-letter',
        prefetch: 32,
        maxAttempts: 5,
        retryDelayMs: 1_000,
        shutdownGraceMs: 10_000,
      },
      logLevel: 'info',
      trustProxy: false,
      cors: { origins: [], allowCredentials: false },
      bodyLimitBytes: 16_384,
      bcryptCost: 12,
      jwt: {
        privateKeyPem: undefined,
        publicKeyPem: undefined,
        keyId: undefined,
        nextPublicKeyPem: undefined,
        previousPublicKeyPems: [],
        previousKeysRetiredAt: undefined,
        issuer: 'user-service',
        audience: 'ecommerce-platform',
        accessTtlSeconds: 900,
      },
      serverSecret: undefined,
      session: { idleTtlSeconds: 30 * 86_400, absoluteTtlSeconds: 90 * 86_400, refreshReuseGraceSeconds: 10, maxPerUser: 10 },
      rateLimits: {
        register: { limit: 10, windowSeconds: 60 },
        login: { limit: 20, windowSeconds: 60 },
        refresh: { limit: 60, windowSeconds: 60 },
        verificationResend: { limit: 3, windowSeconds: 3_600 },
        passwordForgot: { limit: 10, windowSeconds: 3_600 },
        passwordForgotPerAccount: { limit: 3, windowSeconds: 3_600 },
        passwordReset: { limit: 10, windowSeconds: 3_600 },
        passwordChange: { limit: 5, windowSeconds: 900 },
        apiKey: { limit: 600, windowSeconds: 60 },
      },
      loginLockout: { failuresPerClient: 5, baseSeconds: 60, maxSeconds: 3_600, failuresPerAccount: 50, accountWindowSeconds: 3_600 },
      tokens: { emailVerificationTtlSeconds: 86_400, passwordResetTtlSeconds: 3_600, printMail: true },
      idempotencyTtlSeconds: 86_400,
      apiKeys: { lastUsedFlushSeconds: 60 },
      admin: { email: undefined, password: undefined, consoleEnabled: true, maxSuspensionDays: 365, suspensionSweepSeconds: 60 },
    });
  });

  it.each([
    ['false', false],
    ['no', false],
    ['127.0.0.1', ['127.0.0.1']],
    ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
  ])('reads TRUST_PROXY=%s', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it('says why TRUST_PROXY=true and hop counts are refused', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/would believe any X-Forwarded-For/);
    expect(() => loadConfig({ TRUST_PROXY: '1' })).toThrow(/not a hop count/);
  });

  it('reads given values, treating blank ones as unset', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '8080',
      HOST: '  ',
      TRUST_PROXY: ' 10.0.0.0/8, 192.168.1.7 ,fd00::/8,loopback',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgresql://localhost/users',
      RATE_LIMIT_LOGIN_LIMIT: '5',
      RATE_LIMIT_LOGIN_WINDOW_SECONDS: '30',
      ADMIN_EMAIL: ' Admin@Example.COM ',
      ADMIN_PASSWORD: 'a-long-admin-password-1',
      EVENTS_EXCHANGE: 'staging.user.events',
      PASSWORD_RESET_TTL_SECONDS: '600',
      RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT_LIMIT: '2',
      MAX_SESSIONS_PER_USER: '3',
      MAX_SUSPENSION_DAYS: '30',
      SUSPENSION_SWEEP_SECONDS: '5',
      OUTBOX_LEASE_SECONDS: '3',
    });

    expect(config.nodeEnv).toBe('test');
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
    expect(config.bcryptCost).toBe(4);
    expect(config.logLevel).toBe('debug');
    expect(config.databaseUrl).toBe('postgresql://localhost/users');
    expect(config.rateLimits.login).toEqual({ limit: 5, windowSeconds: 30 });
    expect(config.admin).toEqual({
      email: 'admin@example.com',
      password: 'a-long-admin-password-1',
      consoleEnabled: true,
      maxSuspensionDays: 30,
      suspensionSweepSeconds: 5,
    });
    expect(config.session.maxPerUser).toBe(3);
    expect(config.messaging.eventsExchange).toBe('staging.user.events');
    expect(config.messaging.outboxLeaseSeconds).toBe(3);
    expect(config.tokens.passwordResetTtlSeconds).toBe(600);
    expect(config.rateLimits.passwordForgotPerAccount).toEqual({ limit: 2, windowSeconds: 3_600 });
  });

  it.each([
    ['NODE_ENV', 'staging'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['LOG_LEVEL', 'loud'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', 'true'],
    ['TRUST_PROXY', '1'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.300'],
    ['TRUST_PROXY', '10.0.0.0/8/1'],
    ['DATABASE_URL', 'mysql://localhost/users'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache:6379'],
    ['RABBITMQ_URL', 'redis://mq:5672'],
    ['BODY_LIMIT_BYTES', '10'],
    ['ACCESS_TOKEN_TTL_SECONDS', '0'],
    ['REFRESH_REUSE_GRACE_SECONDS', '301'],
    ['RATE_LIMIT_REFRESH_LIMIT', '0'],
    ['LOGIN_LOCKOUT_FAILURES', '0'],
    ['LOGIN_LOCKOUT_MAX_SECONDS', '604801'],
    ['LOGIN_ACCOUNT_LOCKOUT_WINDOW_SECONDS', '0'],
    ['IDEMPOTENCY_TTL_SECONDS', '59'],
    ['OUTBOX_RETENTION_SECONDS', '59'],
    ['OUTBOX_LEASE_SECONDS', '2'],
    ['OUTBOX_LEASE_SECONDS', '601'],
    ['EMAIL_VERIFICATION_TTL_SECONDS', '59'],
    ['PASSWORD_RESET_TTL_SECONDS', '86401'],
    ['RATE_LIMIT_PASSWORD_CHANGE_LIMIT', '0'],
    ['MAX_SESSIONS_PER_USER', '0'],
    ['MAX_SESSIONS_PER_USER', '1001'],
    ['MAX_SUSPENSION_DAYS', '0'],
    ['MAX_SUSPENSION_DAYS', '3651'],
    ['SUSPENSION_SWEEP_SECONDS', '0'],
    ['SUSPENSION_SWEEP_SECONDS', '86401'],
  ])('names %s=%j in a one-line ConfigError', (name, value) => {
    const error = configErrorOf({ [name]: value });

    expect(error.message).toMatch(/^Invalid configuration: /);
    expect(error.message).toContain(name);
    expect(error.message).not.toContain('\n');
  });

  it('names every bad variable at once, on one line', () => {
    const error = configErrorOf({ PORT: 'x', BCRYPT_COST: '99', REDIS_URL: 'ftp://x', LOG_LEVEL: 'chatty' });

    for (const name of ['PORT', 'BCRYPT_COST', 'REDIS_URL', 'LOG_LEVEL']) expect(error.message).toContain(name);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('refuses an idle timeout longer than the absolute one', () => {
    const error = configErrorOf({ SESSION_IDLE_TTL_SECONDS: '7200', SESSION_ABSOLUTE_TTL_SECONDS: '3600' });

    expect(error.message).toContain('SESSION_IDLE_TTL_SECONDS must not exceed SESSION_ABSOLUTE_TTL_SECONDS');
  });

  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(configErrorOf({ ADMIN_EMAIL: 'admin@example.com' }).message).toContain(
      'ADMIN_EMAIL and ADMIN_PASSWORD must be given together',
    );
    expect(configErrorOf({ ADMIN_PASSWORD: 'secret-password-1' }).message).toContain(
      'ADMIN_EMAIL and ADMIN_PASSWORD must be given together',
    );
  });

  describe('CORS', () => {
    it('reads exact origins, trimmed and without repeats, and the credentials flag', () => {
      const config = loadConfig({
        CORS_ORIGINS: ' https://shop.example.com,http://localhost:5173 , ,https://shop.example.com,http://[::1]:8080,http://10.0.0.5:3000',
        CORS_ALLOW_CREDENTIALS: 'true',
      });

      expect(config.cors).toEqual({
        origins: ['https://shop.example.com', 'http://localhost:5173', 'http://[::1]:8080', 'http://10.0.0.5:3000'],
        allowCredentials: true,
      });
      expect(loadConfig({ CORS_ORIGINS: '  ' }).cors.origins).toEqual([]);
    });

    it.each([
      ['*'],
      ['https://*.example.com'],
      ['https://shop.example.com/'],
      ['https://shop.example.com/app'],
      ['https://shop.example.com?x=1'],
      ['https://Shop.Example.com'],
      ['https://shop.example.com:443'],
      ['https://user@shop.example.com'],
      ['shop.example.com'],
      ['ftp://shop.example.com'],
      ['null'],
      ['https://shop.example.com,localhost:5173'],
    ])('refuses CORS_ORIGINS=%j with one line naming the bad entry', (raw) => {
      const error = configErrorOf({ CORS_ORIGINS: raw });

      expect(error.message).toMatch(/^Invalid configuration: CORS_ORIGINS must be origins separated by commas, as browsers send them: .* \(bad: [^)]+\)$/);
      expect(error.message).not.toContain('https://shop.example.com,');
      expect(error.message).not.toContain('\n');
    });

    it('refuses a CORS_ALLOW_CREDENTIALS that is not a boolean', () => {
      expect(configErrorOf({ CORS_ALLOW_CREDENTIALS: 'sometimes' }).message).toContain('CORS_ALLOW_CREDENTIALS must be true or false');
    });
  });

  describe('JWT keys', () => {
    it('must be given together', () => {
      expect(configErrorOf({ JWT_PRIVATE_KEY: pair.privateKeyPem }).message).toContain(
        'JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be given together',
      );
      expect(configErrorOf({ JWT_PUBLIC_KEY: pair.publicKeyPem }).message).toContain(
        'JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be given together',
      );
    });

    it('must be PEM-encoded', () => {
      const error = configErrorOf({ JWT_PRIVATE_KEY: 'not-a-key', JWT_PUBLIC_KEY: pair.publicKeyPem });

      expect(error.message).toContain('JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be PEM-encoded keys');
    });

    it('turns escaped \\n sequences back into newlines', () => {
      const escape = (pem: string) => pem.replace(/\n/g, '\\n');
      expect(escape(pair.privateKeyPem)).not.toContain('\n');

      const config = loadConfig({ JWT_PRIVATE_KEY: escape(pair.privateKeyPem), JWT_PUBLIC_KEY: escape(pair.publicKeyPem) });

      expect(config.jwt.privateKeyPem).toBe(pair.privateKeyPem);
      expect(config.jwt.publicKeyPem).toBe(pair.publicKeyPem);
      expect(() => createPrivateKey(config.jwt.privateKeyPem!)).not.toThrow();
      expect(() => createPublicKey(config.jwt.publicKeyPem!)).not.toThrow();
    });

    it('keeps keys given with real newlines usable', () => {
      const config = loadConfig({ JWT_PRIVATE_KEY: pair.privateKeyPem, JWT_PUBLIC_KEY: pair.publicKeyPem, JWT_KEY_ID: 'k1' });

      expect(config.jwt.keyId).toBe('k1');
      expect(() => createPrivateKey(config.jwt.privateKeyPem!)).not.toThrow();
    });
  });

  describe('production', () => {
    it('starts with every required setting', () => {
      const config = loadConfig(PRODUCTION_ENV);

      expect(config.nodeEnv).toBe('production');
      expect(config.databaseUrl).toBe(PRODUCTION_ENV.DATABASE_URL);
    });

    it('names every missing setting in one line', () => {
      const error = configErrorOf({ NODE_ENV: 'production' });

      expect(error.message).toContain(
        'production needs DATABASE_URL, REDIS_URL, RABBITMQ_URL, JWT_PRIVATE_KEY, JWT_PUBLIC_KEY',
      );
      expect(error.message).not.toContain('\n');
    });

    it.each(['DATABASE_URL', 'REDIS_URL', 'RABBITMQ_URL'] as const)('refuses a blank %s', (name) => {
      const error = configErrorOf({ ...PRODUCTION_ENV, [name]: '   ' });

      expect(error.message).toBe(`Invalid configuration: production needs ${name}`);
    });

    it('refuses to run without the signing keys', () => {
      const error = configErrorOf({ ...PRODUCTION_ENV, JWT_PRIVATE_KEY: undefined, JWT_PUBLIC_KEY: undefined });

      expect(error.message).toBe('Invalid configuration: production needs JWT_PRIVATE_KEY, JWT_PUBLIC_KEY');
    });

    it('refuses PRINT_MAIL, which writes sign-in secrets to the console', () => {
      expect(loadConfig(PRODUCTION_ENV).tokens.printMail).toBe(false);
      const error = configErrorOf({ ...PRODUCTION_ENV, PRINT_MAIL: 'true' });

      expect(error.message).toBe(
        'Invalid configuration: PRINT_MAIL writes verification and reset tokens to the console and is refused in production',
      );
    });

    it('keeps the admin console off unless ADMIN_CONSOLE_ENABLED says otherwise', () => {
      expect(loadConfig(PRODUCTION_ENV).admin.consoleEnabled).toBe(false);
      expect(loadConfig({ ...PRODUCTION_ENV, ADMIN_CONSOLE_ENABLED: 'true' }).admin.consoleEnabled).toBe(true);
    });
  });

  it('serves the admin console outside production unless ADMIN_CONSOLE_ENABLED=false', () => {
    expect(loadConfig({}).admin.consoleEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).admin.consoleEnabled).toBe(true);
    expect(loadConfig({ ADMIN_CONSOLE_ENABLED: 'false' }).admin.consoleEnabled).toBe(false);
  });

  it('migrates at start unless MIGRATIONS_ON_START=false', () => {
    expect(loadConfig({}).migrationsOnStart).toBe(true);
    expect(loadConfig({ MIGRATIONS_ON_START: 'false' }).migrationsOnStart).toBe(false);
    expect(() => loadConfig({ MIGRATIONS_ON_START: 'sometimes' })).toThrow('MIGRATIONS_ON_START must be true or false (got "sometimes")');
  });

  it('prints mail in development only, unless told otherwise', () => {
    expect(loadConfig({}).tokens.printMail).toBe(true);
    expect(loadConfig({ PRINT_MAIL: 'false' }).tokens.printMail).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' }).tokens.printMail).toBe(false);
  });
});
