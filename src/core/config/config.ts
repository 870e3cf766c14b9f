import { isIP } from 'node:net';
import { resolve } from 'node:path';

export type NodeEnv = 'development' | 'test' | 'production';

export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

export interface AppConfig {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  /** Resolved at boot: the configured URL, or the embedded server's outside production. */
  databaseUrl: string | undefined;
  /**
   * Apply pending migrations at start (under an advisory lock, so replicas take
   * turns). Off where a deployment step runs them first (the chart's hook Job).
   */
  migrationsOnStart: boolean;
  dataDir: string;
  embeddedDatabasePort: number;
  redisUrl: string | undefined;
  /** Every Redis key this process writes starts with this, so several deployments (or test files) share one Redis. */
  redisKeyPrefix: string;
  rabbitmqUrl: string | undefined;
  messaging: {
    /** Topic exchange the domain events go to (the contract's user.events). */
    eventsExchange: string;
    /** Queue of the request/response patterns and consumed events (the contract's user-service). */
    serviceQueue: string;
    /** Published outbox rows are kept this long, then pruned. */
    outboxRetentionSeconds: number;
    /** A relay leader cut off from the database loses its lock after this long, so another replica takes over. */
    outboxLeaseSeconds: number;
    /** Where messages go that could not be handled (the contract's user-service.dead-letter). */
    deadLetterQueue: string;
    /** Messages of the service queue one replica holds unacknowledged at a time. */
    prefetch: number;
    /** Handler runs a message gets (the first one included) before it is dead-lettered. */
    maxAttempts: number;
    /** Wait before the first retry; each further retry waits twice as long. */
    retryDelayMs: number;
    /** At shutdown, how long the messages in hand may take to finish before the connection closes. */
    shutdownGraceMs: number;
  };
  logLevel: string;
  /**
   * Which peers may set X-Forwarded-For: none (false) or the listed addresses
   * and CIDRs. Never every hop: clients write that header.
   */
  trustProxy: false | string[];
  /** Browser front ends allowed to call the API; no origins: no CORS headers at all. */
  cors: {
    /** Exact origins (scheme://host[:port]), compared as strings with the browser's Origin header. */
    origins: string[];
    /** Sends Access-Control-Allow-Credentials: true (cookies, HTTP auth); bearer tokens do not need it. */
    allowCredentials: boolean;
  };
  bodyLimitBytes: number;
  bcryptCost: number;
  jwt: {
    privateKeyPem: string | undefined;
    publicKeyPem: string | undefined;
    keyId: string | undefined;
    /** A key published in the JWKS before it starts signing (step 1 of a rotation). */
    nextPublicKeyPem: string | undefined;
    /** Retired keys: they verify tokens they signed, and are published, until retiredAt + the access-token lifetime. */
    previousPublicKeyPems: string[];
    /** When the previous keys stopped signing (ms since the epoch). */
    previousKeysRetiredAt: number | undefined;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  /**
   * The secret behind cursors and sealed Idempotency-Key answers (SERVER_SECRET),
   * independent of the signing key so it survives a key rotation; when unset it
   * is derived from JWT_PRIVATE_KEY as before.
   */
  serverSecret: string | undefined;
  session: {
    idleTtlSeconds: number;
    absoluteTtlSeconds: number;
    refreshReuseGraceSeconds: number;
    /** Active sessions a user may hold; a sign-in beyond it ends the oldest. */
    maxPerUser: number;
  };
  rateLimits: {
    register: RateLimitRule;
    login: RateLimitRule;
    refresh: RateLimitRule;
    verificationResend: RateLimitRule;
    passwordForgot: RateLimitRule;
    passwordForgotPerAccount: RateLimitRule;
    passwordReset: RateLimitRule;
    passwordChange: RateLimitRule;
    /** Requests per API key (API_KEY_RATE_LIMIT per API_KEY_RATE_WINDOW_SECONDS), whichever replica serves them. */
    apiKey: RateLimitRule;
  };
  /** Failed sign-ins lock out the address they came from, for that account only (see LoginLockout). */
  loginLockout: {
    /** Failures from one address to one account before that address is locked out of it. */
    failuresPerClient: number;
    /** The first lockout; each further failure doubles it, up to maxSeconds. */
    baseSeconds: number;
    maxSeconds: number;
    /** Failures to one account from all addresses within the window, beyond which any address with a failure is locked out. */
    failuresPerAccount: number;
    accountWindowSeconds: number;
  };
  tokens: {
    emailVerificationTtlSeconds: number;
    passwordResetTtlSeconds: number;
    /** Development only: verification and reset mails printed to the console (there is no mailer locally). */
    printMail: boolean;
  };
  idempotencyTtlSeconds: number;
  apiKeys: {
    /** How often each replica writes the keys' lastUsedAt (one UPDATE for all the keys it saw used). */
    lastUsedFlushSeconds: number;
  };
  admin: {
    email: string | undefined;
    password: string | undefined;
    /** Serves the admin console at /console; off by default in production so a public deployment does not expose it by accident. */
    consoleEnabled: boolean;
    /** The longest suspension an admin may set. */
    maxSuspensionDays: number;
    /** How often lapsed suspensions are lifted (by one replica at a time). */
    suspensionSweepSeconds: number;
  };
}

/** A configuration problem: the message is the one line printed before the process exits. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return raw;
    } catch {
      this.problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  /** false, or a list of addresses, CIDRs and proxy-addr's named ranges. */
  trustedProxies(name: string): false | string[] {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined || ['false', 'no'].includes(raw)) return false;
    if (['true', 'yes'].includes(raw)) {
      this.problems.push(
        `${name}=true would believe any X-Forwarded-For a client writes; give the gateway's addresses or CIDRs (e.g. 10.0.0.0/8)`,
      );
      return false;
    }
    if (/^\d+$/.test(raw)) {
      // Fastify trusts no hop at all for a hop count, since it cannot tell who the nearest peer is.
      this.problems.push(`${name} takes the gateway's addresses or CIDRs, not a hop count (got "${raw}")`);
      return false;
    }
    const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (bad.length > 0) {
      this.problems.push(`${name} must be false or addresses/CIDRs separated by commas (bad: ${bad.join(', ')})`);
      return false;
    }
    return entries;
  }

  /** Browser origins, spelled as browsers send them in Origin (matched exactly, so anything else would never match). */
  origins(name: string): string[] {
    const entries = (this.string(name) ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !isOrigin(entry));
    if (bad.length > 0) {
      this.problems.push(
        `${name} must be origins separated by commas, as browsers send them: http(s)://host[:port] in lowercase, no path, no *, no default port (bad: ${bad.join(', ')})`,
      );
      return [];
    }
    return [...new Set(entries)];
  }

  rule(prefix: string, limit: number, windowSeconds: number): RateLimitRule {
    return {
      limit: this.int(`${prefix}_LIMIT`, limit, 1, 1_000_000),
      windowSeconds: this.int(`${prefix}_WINDOW_SECONDS`, windowSeconds, 1, 86_400),
    };
  }
}

/** proxy-addr's names for the loopback, link-local and private ranges. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function isOrigin(entry: string): boolean {
  // The URL parser accepts * in a host name (https://*.example.com): wildcards are never origins.
  if (entry.includes('*')) return false;
  try {
    const url = new URL(entry);
    return ['http:', 'https:'].includes(url.protocol) && url.origin === entry;
  } catch {
    return false;
  }
}

const PEM_KEY = /-----BEGIN [A-Z ]*KEY-----[\s\S]+-----END [A-Z ]*KEY-----/;

/** Every PEM block of a value (several keys in one variable, one after the other). */
function pemBlocks(value: string | undefined): string[] {
  return value?.match(/-----BEGIN [A-Z ]*KEY-----[\s\S]+?-----END [A-Z ]*KEY-----/g) ?? [];
}

/** PEM keys arrive through environment variables, often with escaped newlines. */
function pem(value: string | undefined): string | undefined {
  return value?.replace(/\\n/g, '\n');
}

/**
 * Reads and validates every variable once. Throws a ConfigError whose message
 * names each bad or missing variable on one line.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const read = new Reader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const production = nodeEnv === 'production';

  const config: AppConfig = {
    nodeEnv,
    port: read.int('PORT', 3000, 0, 65_535),
    host: read.string('HOST', '0.0.0.0'),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    migrationsOnStart: read.bool('MIGRATIONS_ON_START', true),
    dataDir: resolve(read.string('DATA_DIR', '.data')),
    embeddedDatabasePort: read.int('EMBEDDED_DATABASE_PORT', 54329, 1024, 65_535),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX', 'user-service'),
    rabbitmqUrl: read.url('RABBITMQ_URL', ['amqp:', 'amqps:']),
    messaging: {
      eventsExchange: read.string('EVENTS_EXCHANGE', 'user.events'),
      serviceQueue: read.string('SERVICE_QUEUE', 'user-service'),
      outboxRetentionSeconds: read.int('OUTBOX_RETENTION_SECONDS', 7 * 86_400, 60, 365 * 86_400),
      outboxLeaseSeconds: read.int('OUTBOX_LEASE_SECONDS', 30, 3, 600),
      deadLetterQueue: read.string('DEAD_LETTER_QUEUE', `${read.string('SERVICE_QUEUE', 'user-service')}.dead-letter`),
      prefetch: read.int('MESSAGE_PREFETCH', 32, 1, 1_000),
      maxAttempts: read.int('MESSAGE_MAX_ATTEMPTS', 5, 1, 20),
      retryDelayMs: read.int('MESSAGE_RETRY_DELAY_MS', 1_000, 10, 600_000),
      shutdownGraceMs: read.int('MESSAGE_SHUTDOWN_GRACE_SECONDS', 10, 1, 300) * 1000,
    },
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    trustProxy: read.trustedProxies('TRUST_PROXY'),
    cors: {
      origins: read.origins('CORS_ORIGINS'),
      allowCredentials: read.bool('CORS_ALLOW_CREDENTIALS', false),
    },
    bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 16_384, 1_024, 10_485_760),
    bcryptCost: read.int('BCRYPT_COST', 12, 4, 15),
    jwt: {
      privateKeyPem: pem(read.string('JWT_PRIVATE_KEY')),
      publicKeyPem: pem(read.string('JWT_PUBLIC_KEY')),
      keyId: read.string('JWT_KEY_ID'),
      nextPublicKeyPem: pem(read.string('JWT_NEXT_PUBLIC_KEY')),
      previousPublicKeyPems: pemBlocks(pem(read.string('JWT_PREVIOUS_PUBLIC_KEYS'))),
      previousKeysRetiredAt: read.string('JWT_PREVIOUS_KEYS_RETIRED_AT') === undefined ? undefined : Date.parse(read.string('JWT_PREVIOUS_KEYS_RETIRED_AT')!),
      issuer: read.string('JWT_ISSUER', 'user-service'),
      audience: read.string('JWT_AUDIENCE', 'ecommerce-platform'),
      accessTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
    },
    serverSecret: read.string('SERVER_SECRET'),
    session: {
      idleTtlSeconds: read.int('SESSION_IDLE_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
      absoluteTtlSeconds: read.int('SESSION_ABSOLUTE_TTL_SECONDS', 90 * 86_400, 60, 730 * 86_400),
      refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
      maxPerUser: read.int('MAX_SESSIONS_PER_USER', 10, 1, 1_000),
    },
    rateLimits: {
      register: read.rule('RATE_LIMIT_REGISTER', 10, 60),
      login: read.rule('RATE_LIMIT_LOGIN', 20, 60),
      refresh: read.rule('RATE_LIMIT_REFRESH', 60, 60),
      verificationResend: read.rule('RATE_LIMIT_VERIFICATION_RESEND', 3, 3_600),
      passwordForgot: read.rule('RATE_LIMIT_PASSWORD_FORGOT', 10, 3_600),
      passwordForgotPerAccount: read.rule('RATE_LIMIT_PASSWORD_FORGOT_ACCOUNT', 3, 3_600),
      passwordReset: read.rule('RATE_LIMIT_PASSWORD_RESET', 10, 3_600),
      passwordChange: read.rule('RATE_LIMIT_PASSWORD_CHANGE', 5, 900),
      apiKey: read.rule('API_KEY_RATE', 600, 60),
    },
    loginLockout: {
      failuresPerClient: read.int('LOGIN_LOCKOUT_FAILURES', 5, 1, 1_000_000),
      baseSeconds: read.int('LOGIN_LOCKOUT_SECONDS', 60, 1, 86_400),
      maxSeconds: read.int('LOGIN_LOCKOUT_MAX_SECONDS', 3_600, 1, 7 * 86_400),
      failuresPerAccount: read.int('LOGIN_ACCOUNT_LOCKOUT_FAILURES', 50, 1, 1_000_000),
      accountWindowSeconds: read.int('LOGIN_ACCOUNT_LOCKOUT_WINDOW_SECONDS', 3_600, 1, 7 * 86_400),
    },
    tokens: {
      emailVerificationTtlSeconds: read.int('EMAIL_VERIFICATION_TTL_SECONDS', 86_400, 60, 30 * 86_400),
      passwordResetTtlSeconds: read.int('PASSWORD_RESET_TTL_SECONDS', 3_600, 60, 86_400),
      printMail: read.bool('PRINT_MAIL', nodeEnv === 'development'),
    },
    idempotencyTtlSeconds: read.int('IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 7 * 86_400),
    apiKeys: {
      lastUsedFlushSeconds: read.int('API_KEY_LAST_USED_FLUSH_SECONDS', 60, 1, 3_600),
    },
    admin: {
      email: read.string('ADMIN_EMAIL')?.toLowerCase(),
      password: read.string('ADMIN_PASSWORD'),
      consoleEnabled: read.bool('ADMIN_CONSOLE_ENABLED', !production),
      maxSuspensionDays: read.int('MAX_SUSPENSION_DAYS', 365, 1, 3_650),
      suspensionSweepSeconds: read.int('SUSPENSION_SWEEP_SECONDS', 60, 1, 86_400),
    },
  };

  const { privateKeyPem, publicKeyPem } = config.jwt;
  if (Boolean(privateKeyPem) !== Boolean(publicKeyPem)) {
    read.problems.push('JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be given together');
  } else if (privateKeyPem && (!PEM_KEY.test(privateKeyPem) || !PEM_KEY.test(publicKeyPem ?? ''))) {
    read.problems.push('JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be PEM-encoded keys');
  }
  const { nextPublicKeyPem, previousPublicKeyPems, previousKeysRetiredAt } = config.jwt;
  if (nextPublicKeyPem !== undefined && !PEM_KEY.test(nextPublicKeyPem)) read.problems.push('JWT_NEXT_PUBLIC_KEY must be a PEM-encoded public key');
  if (read.string('JWT_PREVIOUS_PUBLIC_KEYS') !== undefined && previousPublicKeyPems.length === 0) {
    read.problems.push('JWT_PREVIOUS_PUBLIC_KEYS must hold one or more PEM-encoded public keys');
  }
  if (previousPublicKeyPems.length > 0 && previousKeysRetiredAt === undefined) {
    read.problems.push('JWT_PREVIOUS_PUBLIC_KEYS needs JWT_PREVIOUS_KEYS_RETIRED_AT (when those keys stopped signing, e.g. 2026-12-03T10:00:00Z)');
  }
  if (previousKeysRetiredAt !== undefined && Number.isNaN(previousKeysRetiredAt)) {
    read.problems.push('JWT_PREVIOUS_KEYS_RETIRED_AT must be an ISO 8601 date-time, e.g. 2026-12-03T10:00:00Z');
  }
  if (config.serverSecret !== undefined && config.serverSecret.length < 32) {
    read.problems.push('SERVER_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)');
  }
  if (Boolean(config.admin.email) !== Boolean(config.admin.password)) {
    read.problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be given together');
  }
  if (config.loginLockout.baseSeconds > config.loginLockout.maxSeconds) {
    read.problems.push('LOGIN_LOCKOUT_SECONDS must not exceed LOGIN_LOCKOUT_MAX_SECONDS');
  }
  if (config.session.idleTtlSeconds > config.session.absoluteTtlSeconds) {
    read.problems.push('SESSION_IDLE_TTL_SECONDS must not exceed SESSION_ABSOLUTE_TTL_SECONDS');
  }

  if (production && config.tokens.printMail) {
    read.problems.push('PRINT_MAIL writes verification and reset tokens to the console and is refused in production');
  }

  if (production) {
    const missing = [
      ['DATABASE_URL', config.databaseUrl],
      ['REDIS_URL', config.redisUrl],
      ['RABBITMQ_URL', config.rabbitmqUrl],
      ['JWT_PRIVATE_KEY', privateKeyPem],
      ['JWT_PUBLIC_KEY', publicKeyPem],
    ]
      .filter(([, value]) => !value)
      .map(([name]) => name);
    if (missing.length > 0) read.problems.push(`production needs ${missing.join(', ')}`);
    if ((nextPublicKeyPem || previousPublicKeyPems.length > 0) && !config.serverSecret) {
      read.problems.push(
        'a signing-key rotation (JWT_NEXT_PUBLIC_KEY, JWT_PREVIOUS_PUBLIC_KEYS) needs SERVER_SECRET, so that cursors and stored Idempotency-Key answers outlive the old key',
      );
    }
  }

  if (read.problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${read.problems.join('; ')}`);
  }
  return config;
}
