import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestDatabase } from '../utils/test-app.js';

const ROOT = join(__dirname, '..', '..');

/** Starts the built service until it is listening, then stops it; what it printed on stdout. */
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
      DATABASE_URL: databaseUrl,
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
  while (!/listening/.test(output) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
  // One request, so a request line is logged too.
  await fetch(`http://127.0.0.1:${port}/api/v1/health/live`).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // `script` passes the signal on to the service; both end.
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  return output;
}

describe('console output (the built service)', () => {
  let database: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('in a terminal, in development: readable lines, no JSON', async () => {
    const output = await startAndStop(database.url, true);
    const lines = output.split(/\r?\n/).filter((line) => /request completed|Nest application successfully started/.test(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.trim().startsWith('{')).toBe(false);
    expect(output).toMatch(/\d\d:\d\d:\d\d\.\d{3}/);
  }, 45_000);

  it('through a pipe, or with LOG_FORMAT=json in a terminal: JSON lines for log collectors', async () => {
    for (const output of [await startAndStop(database.url, false), await startAndStop(database.url, true, { LOG_FORMAT: 'json' })]) {
      const line = output.split(/\r?\n/).find((entry) => entry.includes('request completed'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!.trim())).toMatchObject({ msg: 'request completed', statusCode: 200 });
    }
  }, 60_000);
});
