import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as Record<string, unknown>).__EMBEDDED_PG__ as ChildProcess | undefined;
  if (!embedded || embedded.exitCode !== null) return;
  embedded.kill('SIGTERM');
  await once(embedded, 'exit');
}
