// Process helpers: free ports, child processes, /proc sampling (CPU, RSS).
import { execFileSync, spawn, fork } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import net from 'node:net';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
} catch {
  /* keep 100, Linux's usual USER_HZ */
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** utime + stime of the whole process (all threads), in seconds; undefined once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Current resident set size in MiB (VmRSS), or undefined once the process is gone. */
export function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples one process over a load run: CPU% from utime+stime deltas over wall
 * time (100% = one core) and peak RSS sampled every `intervalMs`.
 */
export function startProcessSampler(pid, intervalMs = 250) {
  const startWall = process.hrtime.bigint();
  const startCpu = cpuSeconds(pid);
  const startSelf = process.cpuUsage();
  let peakRss = rssMiB(pid) ?? 0;
  const timer = setInterval(() => {
    const rss = rssMiB(pid);
    if (rss !== undefined && rss > peakRss) peakRss = rss;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const rss = rssMiB(pid);
      if (rss !== undefined && rss > peakRss) peakRss = rss;
      const wallSeconds = Number(process.hrtime.bigint() - startWall) / 1e9;
      const endCpu = cpuSeconds(pid);
      const self = process.cpuUsage(startSelf);
      return {
        wallSeconds,
        cpuPercent: startCpu !== undefined && endCpu !== undefined ? ((endCpu - startCpu) / wallSeconds) * 100 : null,
        peakRssMiB: peakRss,
        // The load generator (this process: autocannon) shares the same cores.
        generatorCpuPercent: ((self.user + self.system) / 1e6 / wallSeconds) * 100,
      };
    },
  };
}

/**
 * Children this run started, killed on exit. Each is { name, child }.
 * Only these pids are ever signalled.
 */
const children = new Set();

export function trackChild(name, child) {
  const entry = { name, child, exited: false };
  child.once('exit', () => {
    entry.exited = true;
  });
  children.add(entry);
  return entry;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited (bounded). */
export async function stopChild(entry, graceMs = 5_000) {
  if (!entry || entry.exited || entry.child.exitCode !== null || entry.child.signalCode !== null) {
    children.delete(entry);
    return;
  }
  const exited = new Promise((resolve) => entry.child.once('exit', resolve));
  try {
    entry.child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    try {
      entry.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, sleep(2_000)]);
  }
  children.delete(entry);
}

export async function stopAllChildren() {
  await Promise.all([...children].map((entry) => stopChild(entry)));
}

/** Last resort in a synchronous exit handler. */
export function killAllChildrenSync() {
  for (const entry of children) {
    if (!entry.exited) {
      try {
        entry.child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** Spawns `node script` with stdout+stderr going straight to a file (no pipe through this process). */
export function spawnNode(name, script, { cwd, env, logFile, args = [] }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [script, ...args], { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return trackChild(name, child);
}

/**
 * Forks one of our reference servers; it reports { ready: port } over IPC and
 * exits by itself if this process disappears (IPC disconnect).
 */
export function forkReference(name, script, { env, logFile }) {
  const fd = openSync(logFile, 'a');
  const child = fork(script, [], { env, stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  const entry = trackChild(name, child);
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s (log: ${logFile})`)), 20_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (message && message.ready) resolve(message.ready);
      else reject(new Error(`${name} failed: ${JSON.stringify(message)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready (log: ${logFile})`));
    });
  });
  return { entry, ready };
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitForOk(url, entry, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (entry.exited || entry.child.exitCode !== null) throw new Error(`process exited (code ${entry.child.exitCode}) before ${url} answered 200`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `${response.status}`;
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

/** The last `lines` lines of a (possibly large) log file: reads only its last 64 KiB. */
export function tailFile(path, lines = 30) {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 65_536);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}
