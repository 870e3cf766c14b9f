import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { AppModule } from '../app.module.js';
import { type AppConfig, loadConfig } from '../core/config/config.js';
import { startEmbeddedPostgres } from '../core/database/embedded-postgres.js';
import { AppError } from '../core/errors/app-error.js';
import { createValidationPipe } from '../core/http/validation.js';
import { AdminApiKeysService } from '../modules/admin/admin-api-keys.service.js';
import { AdminService } from '../modules/admin/admin.service.js';
import { ChangeRoleDto, CreateUserDto } from '../modules/admin/dto/admin.dto.js';
import { ApiKeyListQuery, CreateApiKeyDto } from '../modules/admin/dto/api-keys.dto.js';
import type { ApiKeyResponse } from '../modules/admin/dto/api-keys.response.js';
import { CLI_ACTOR } from '../modules/audit/audit.service.js';

export const USAGE = `usage:
  npm run cli -- create-admin --email EMAIL [--name NAME]   the password is read from stdin, or asked for on a terminal
  npm run cli -- set-role --email EMAIL --role user|admin
  npm run cli -- api-keys create --name NAME --scopes users:read[,...] [--expires-at ISO-8601]   prints the key, once
  npm run cli -- api-keys list [--limit N] [--cursor CURSOR]
  npm run cli -- api-keys revoke --id ID
All act on DATABASE_URL (the embedded database outside production when unset); changes are audited with actor cli.`;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class UsageError extends Error {}

function options(args: string[], allowed: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]?.startsWith('--') ? args[i]!.slice(2) : undefined;
    const value = args[i + 1];
    // The password is never an argument: it would land in shell history and in `ps`.
    if (name === 'password') throw new UsageError('the password is never an argument: pipe it to stdin, or type it when asked');
    if (!name || !allowed.includes(name) || value === undefined) throw new UsageError(`unexpected argument ${args[i]}`);
    found[name] = value;
  }
  return found;
}

/** The first line of stdin, or a hidden prompt (twice) on a terminal. */
async function readPassword(io: CliIo): Promise<string> {
  if (!io.stdin.isTTY) {
    let text = '';
    for await (const chunk of io.stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  let muted = false;
  const output = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      if (!muted) io.stderr.write(chunk);
      done();
    },
  });
  const prompt = createInterface({ input: io.stdin, output, terminal: true });
  const ask = (question: string) =>
    new Promise<string>((resolve) => {
      io.stderr.write(question);
      muted = true;
      prompt.question('', (answer) => {
        muted = false;
        io.stderr.write('\n');
        resolve(answer);
      });
    });
  try {
    const first = await ask('Password: ');
    if ((await ask('Password again: ')) !== first) throw new UsageError('the passwords differ');
    return first;
  } finally {
    prompt.close();
  }
}

async function validated<T extends object>(type: new () => T, value: Record<string, unknown>): Promise<T> {
  return (await createValidationPipe().transform(value, { type: 'body', metatype: type })) as T;
}

const apiKeyLine = (key: ApiKeyResponse) =>
  [
    key.id,
    key.prefix,
    key.revokedAt ? 'revoked' : key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? 'expired' : 'active',
    key.scopes.join(','),
    `created=${key.createdAt}`,
    `expires=${key.expiresAt ?? 'never'}`,
    `last-used=${key.lastUsedAt ?? 'never'}`,
    JSON.stringify(key.name),
  ].join('  ');

/** api-keys create|list|revoke: what to run once the app is up. */
async function apiKeysCommand(args: string[]): Promise<(app: INestApplicationContext) => Promise<string>> {
  const [action, ...rest] = args;
  const apiKeys = (app: INestApplicationContext) => app.get(AdminApiKeysService);
  if (action === 'create') {
    const { name, scopes, 'expires-at': expiresAt } = options(rest, ['name', 'scopes', 'expires-at']);
    if (!name || !scopes) throw new UsageError('--name and --scopes are required');
    const dto = await validated(CreateApiKeyDto, { name, scopes: scopes.split(',').map((scope) => scope.trim()), ...(expiresAt ? { expiresAt } : {}) });
    return async (app) => {
      const key = await apiKeys(app).create(CLI_ACTOR, dto);
      return [
        `created API key ${key.id} ${JSON.stringify(key.name)} (${key.scopes.join(', ')}; expires ${key.expiresAt ?? 'never'})`,
        'the key, shown this once (it is not stored; put it in the service\'s X-API-Key header):',
        key.key,
      ].join('\n');
    };
  }
  if (action === 'list') {
    const dto = await validated(ApiKeyListQuery, options(rest, ['limit', 'cursor']));
    return async (app) => {
      const page = await apiKeys(app).list(dto);
      const lines = page.data.map(apiKeyLine);
      if (page.meta.nextCursor) lines.push(`more: api-keys list --cursor ${page.meta.nextCursor}`);
      return lines.length ? lines.join('\n') : 'no API keys';
    };
  }
  if (action === 'revoke') {
    const { id } = options(rest, ['id']);
    if (!id) throw new UsageError('--id is required');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new UsageError('--id must be the UUID of an API key');
    return async (app) => {
      await apiKeys(app).revoke(CLI_ACTOR, id);
      return `revoked API key ${id}`;
    };
  }
  throw new UsageError(action ? `unknown api-keys command ${action}` : 'api-keys needs create, list or revoke');
}

function describe(error: unknown): string {
  if (error instanceof AppError) {
    const fields = error.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
    return `${error.code}: ${error.detail}${fields ? ` (${fields})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The operators' commands, through the same AdminService (rules, events,
 * audit entries) as the HTTP routes. Returns the exit code.
 */
export async function runAdminCli(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  let config: AppConfig;
  let run: (app: INestApplicationContext) => Promise<string>;
  try {
    config = loadConfig(io.env);
    if (command === 'create-admin') {
      const { email, name } = options(rest, ['email', 'name']);
      if (!email) throw new UsageError('--email is required');
      const password = await readPassword(io);
      const dto = await validated(CreateUserDto, { email, password, name: name ?? 'Administrator', role: 'admin' });
      run = async (app) => {
        const { body } = await app.get(AdminService).createUser(CLI_ACTOR, dto);
        return `created admin ${body.email} (${body.id})`;
      };
    } else if (command === 'set-role') {
      const { email, role } = options(rest, ['email', 'role']);
      if (!email || !role) throw new UsageError('--email and --role are required');
      const dto = await validated(ChangeRoleDto, { role });
      run = async (app) => {
        const user = await app.get(AdminService).setRoleByEmail(CLI_ACTOR, email, dto.role);
        return `${user.email} (${user.id}) now has role ${user.role}`;
      };
    } else if (command === 'api-keys') {
      run = await apiKeysCommand(rest);
    } else {
      throw new UsageError(command ? `unknown command ${command}` : 'no command');
    }
  } catch (error) {
    io.stderr.write(`${describe(error)}\n${error instanceof UsageError ? `${USAGE}\n` : ''}`);
    return error instanceof UsageError ? 2 : 1;
  }

  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, config.embeddedDatabasePort);
  config.databaseUrl ??= embedded!.url;
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn'] });
  try {
    io.stdout.write(`${await run(app)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`${describe(error)}\n`);
    return 1;
  } finally {
    await app.close();
    await embedded?.stop();
  }
}
