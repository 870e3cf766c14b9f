// The bcrypt ceiling: how many bcrypt hashes per second this machine does at a
// cost, with as many concurrent async calls as libuv has threads (the service
// hashes on the same thread pool). A login is one bcrypt compare and a
// registration one bcrypt hash, each the same work as one hash at that cost,
// so this is the most logins or registrations per second the service could do.
import { createHash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';

import bcrypt from 'bcrypt';

import { dependenciesCpuDelta, dependenciesCpuSeconds, machineJiffies } from './proc.mjs';

export const threadPoolSize = () => Number(process.env.UV_THREADPOOL_SIZE) || 4;

export async function measureBcryptCeiling(cost, seconds = 5) {
  const concurrency = threadPoolSize();
  // What the service feeds bcrypt: a base64 SHA-256 digest (44 characters).
  const input = createHash('sha256').update(randomBytes(16)).digest('base64');
  const startMachine = machineJiffies();
  const startDeps = dependenciesCpuSeconds();
  const startSelf = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  let hashes = 0;
  const worker = async () => {
    // Bounded by time; one hash at cost 15 takes ~3 s here, so this always ends.
    while (Date.now() < end) {
      await bcrypt.hash(input, cost);
      hashes += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const self = process.cpuUsage(startSelf);
  const selfPercent = ((self.user + self.system) / 1e6 / elapsed) * 100;
  const endMachine = machineJiffies();
  const endDeps = dependenciesCpuSeconds();
  const machinePercent =
    startMachine && endMachine && endMachine.total > startMachine.total
      ? ((endMachine.busy - startMachine.busy) / (endMachine.total - startMachine.total)) * cpus().length * 100
      : null;
  const depsPercent = ((dependenciesCpuDelta(startDeps, endDeps) ?? 0) / elapsed) * 100;
  return {
    cost,
    concurrency,
    seconds: elapsed,
    hashes,
    perSecond: hashes / elapsed,
    cpuPercent: selfPercent,
    // The idle service, PostgreSQL & co. are counted apart; the rest is other work on the machine.
    otherCpuPercent: machinePercent === null ? null : Math.max(0, machinePercent - selfPercent - depsPercent),
  };
}
