import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestDatabase } from '../utils/test-app.js';

const ROOT = join(__dirname, '..', '..');

/** Starts the built service until it is ready, then stops it; what it printed on stdout. */
async function startAndStop(databaseUrl: string, viaTerminal: boolean, env: Record<string, string> = {}): Promise<string> {
  const port = String(20_000 + Math.floor(Math.random() * 20_000));
  const command = `${process.execPath} dist/src/main.js`;
  // `script` gives the child a pseudo-terminal, as a person's shell does; otherwise stdout is a pipe.
  const [file, args] = viaTerminal ? ['script', ['-qfec', command, '/dev/null']] : [process.execPath, ['dist/src/main.js']];
  const child = spawn(file, args as string[], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      PORT: port,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY,
      JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY,
      DATA_DIR: join(tmpdir(), 'user-service-console-test'),
      TERM: 'dumb',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/ready/.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
  // One request, so a request line is logged too; what readiness says goes into the output.
  const ready = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`).catch(() => undefined);
  output += `\n[readiness ${ready?.status}] ${await ready?.text()}\n`;
  await new Promise((resolve) => setTimeout(resolve, 300));
  // `script` passes the signal on to the service; both end.
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return output;
}

/** Runs the built service until it exits by itself (a start that fails); what it printed and its exit code. */
async function failedStart(env: Record<string, string>): Promise<{ output: string; code: number | null }> {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'development', JWT_PRIVATE_KEY: process.env.TEST_JWT_PRIVATE_KEY, JWT_PUBLIC_KEY: process.env.TEST_JWT_PUBLIC_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { output, code };
}

async function freePort(): Promise<number> {
  const { port, release } = await occupiedPort();
  await release();
  return port;
}

/** A port something listens on, for as long as the test holds it. */
async function occupiedPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('console output (the built service)', () => {
  let database: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('in a terminal, in development, with nothing configured: an embedded PostgreSQL, readable lines, and a banner of working URLs once ready', async () => {
    // What a fresh clone does: no DATABASE_URL, so the embedded server (its binaries need their install script).
    const dataDir = join(tmpdir(), `user-service-embedded-${process.pid}`);
    const embeddedPort = String(await freePort());
    const started = await startAndStop('', true, { DATA_DIR: dataDir, EMBEDDED_DATABASE_PORT: embeddedPort }).finally(() =>
      rmSync(dataDir, { recursive: true, force: true }),
    );
    expect(started).toContain(`Database embedded PostgreSQL on 127.0.0.1:${embeddedPort}, data in ${dataDir}`);
    expect(started).toMatch(/"status":"ok"/);
    const lines = started.split(/\r?\n/).filter((line) => /request completed|applied migrations|no migration/i.test(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.trim().startsWith('{')).toBe(false);
    expect(started).toMatch(/\d\d:\d\d:\d\d\.\d{3}/);

    const port = /http:\/\/localhost:(\d+)\/api\/v1\r?\n/.exec(started)?.[1];
    expect(started).toMatch(/User service \d+\.\d+\.\d+ ready \(development, Node\.js v\d+/);
    expect(started).toContain(`Docs     http://localhost:${port}/docs`);
    expect(started).toMatch(/Cache\s+in-process cache and rate limiter \(no REDIS_URL/);
    expect(started).toMatch(/Broker\s+none \(no RABBITMQ_URL\)/);
    expect(started).toMatch(/Mail\s+verification and reset mails are printed here/);
    // Nest's start-up chatter, whose route map names paths that do not exist, stays at debug.
    expect(started).not.toMatch(/InstanceLoader|RouterExplorer|Mapped \{|\(version: 1\)/);
  }, 45_000);

  it('a port in use, or a data directory a running service holds, is one line saying what to do', async () => {
    const taken = await occupiedPort();
    try {
      const http = await failedStart({ PORT: String(taken.port), DATABASE_URL: database.url });
      expect(http.code).toBe(1);
      expect(http.output).toContain(`Port ${taken.port} is in use (another user service already running?): stop that one, or start this one with PORT=<another port>.`);

      const dataDir = join(tmpdir(), `user-service-busy-${process.pid}`);
      const embeddedPort = await failedStart({ DATA_DIR: dataDir, EMBEDDED_DATABASE_PORT: String(taken.port) });
      expect(embeddedPort.code).toBe(1);
      expect(embeddedPort.output.trim()).toBe(
        `Port ${taken.port} (EMBEDDED_DATABASE_PORT) is in use, so the embedded PostgreSQL cannot listen there: ` +
          'stop what uses it, or set EMBEDDED_DATABASE_PORT to a free port (or DATABASE_URL to a PostgreSQL server).',
      );

      // What a running embedded server leaves in its data directory: a postmaster.pid naming a live process (this one).
      mkdirSync(join(dataDir, 'postgres'), { recursive: true });
      writeFileSync(join(dataDir, 'postgres', 'postmaster.pid'), `${process.pid}\n${dataDir}/postgres\n`);
      const running = await failedStart({ DATA_DIR: dataDir });
      expect(running.code).toBe(1);
      expect(running.output.trim()).toBe(
        `The embedded PostgreSQL of ${dataDir} is already running (pid ${process.pid}), most likely for a user service started before this one: ` +
          'stop that one (Ctrl+C in its terminal), or give this one DATA_DIR=<another directory> and EMBEDDED_DATABASE_PORT=<another port>.',
      );
      rmSync(dataDir, { recursive: true, force: true });
    } finally {
      await taken.release();
    }
  }, 45_000);

  it('through a pipe, or with LOG_FORMAT=json in a terminal: JSON lines for log collectors', async () => {
    for (const output of [await startAndStop(database.url, false), await startAndStop(database.url, true, { LOG_FORMAT: 'json' })]) {
      const line = output.split(/\r?\n/).find((entry) => entry.includes('request completed'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!.trim())).toMatchObject({ msg: 'request completed', statusCode: 200 });
    }
  }, 60_000);
});
