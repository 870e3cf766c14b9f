import '../core/runtime/require-node.js';
import 'reflect-metadata';

import { runAdminCli } from './admin-cli.js';

/** npm run cli -- <command>: see USAGE in admin-cli.ts. */
runAdminCli(process.argv.slice(2), { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
