// Process helpers: free ports, child processes, /proc sampling (CPU, RSS).
import { execFileSync, spawn, fork } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';

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

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineJiffies() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((sum, v) => sum + v, 0); // user … steal (guest is inside user)
    const idle = values[3] + values[4]; // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Process names of the local services the service talks to (PostgreSQL backends, Redis, RabbitMQ's Erlang VM). */
const DEPENDENCY_COMMANDS = new Set(['postgres', 'redis-server', 'beam.smp']);

/** utime + stime (seconds) of each process of the local services, by pid. */
export function dependenciesCpuSeconds() {
  const byPid = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (!DEPENDENCY_COMMANDS.has(stat.slice(open + 1, close))) continue;
      const fields = stat.slice(close + 2).split(' ');
      byPid.set(entry, (Number(fields[11]) + Number(fields[12])) / clockTicks);
    } catch {
      /* gone meanwhile */
    }
  }
  return byPid;
}

/** CPU seconds the local services used between two dependenciesCpuSeconds() (processes gone by the end are not counted). */
export function dependenciesCpuDelta(start, end) {
  if (!start || !end) return undefined;
  let seconds = 0;
  for (const [pid, value] of end) seconds += Math.max(0, value - (start.get(pid) ?? 0));
  return seconds;
}

/** Machine CPU (100% = one core) over the next `ms`. */
export async function machineCpuPercent(ms) {
  const start = machineJiffies();
  await sleep(ms);
  const end = machineJiffies();
  if (!start || !end || end.total <= start.total) return null;
  return ((end.busy - start.busy) / (end.total - start.total)) * cpus().length * 100;
}

/**
 * Waits (bounded) until the machine as a whole is quiet: below `maxPercent`
 * (100% = one core) over two windows in a row. Other work on a shared machine
 * (a test suite) would otherwise land in the numbers.
 */
export async function waitForQuietMachine({ maxPercent = 25, windowMs = 500, maxMs = 20_000 } = {}) {
  const start = Date.now();
  let quiet = 0;
  let last = null;
  while (Date.now() - start < maxMs) {
    last = await machineCpuPercent(windowMs);
    if (last === null) return { waitedMs: Date.now() - start, quiet: false, lastPercent: null };
    quiet = last < maxPercent ? quiet + 1 : 0;
    if (quiet >= 2) return { waitedMs: Date.now() - start, quiet: true, lastPercent: last };
  }
  return { waitedMs: Date.now() - start, quiet: false, lastPercent: last };
}

/**
 * Samples one process over a load run: CPU% from utime+stime deltas over wall
 * time (100% = one core) and peak RSS sampled every `intervalMs`.
 */
export function startProcessSampler(pid, intervalMs = 250) {
  const startWall = process.hrtime.bigint();
  const startCpu = cpuSeconds(pid);
  const startSelf = process.cpuUsage();
  const startMachine = machineJiffies();
  const startDeps = dependenciesCpuSeconds();
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
      const endMachine = machineJiffies();
      const endDeps = dependenciesCpuSeconds();
      const depsSeconds = dependenciesCpuDelta(startDeps, endDeps);
      const dependenciesCpuPercent = depsSeconds === undefined ? null : (depsSeconds / wallSeconds) * 100;
      const cpuPercent = startCpu !== undefined && endCpu !== undefined ? ((endCpu - startCpu) / wallSeconds) * 100 : null;
      // The load generator (this process: autocannon) shares the same cores.
      const generatorCpuPercent = ((self.user + self.system) / 1e6 / wallSeconds) * 100;
      // Everything the machine did, in the same unit (100% = one core): what is left after
      // the target, the generator and the local services is other work on the machine, noise for this run.
      const machineCpuPercent =
        startMachine && endMachine && endMachine.total > startMachine.total
          ? ((endMachine.busy - startMachine.busy) / (endMachine.total - startMachine.total)) * cpus().length * 100
          : null;
      return {
        wallSeconds,
        cpuPercent,
        peakRssMiB: peakRss,
        generatorCpuPercent,
        dependenciesCpuPercent,
        machineCpuPercent,
        otherCpuPercent:
          machineCpuPercent === null || cpuPercent === null
            ? null
            : Math.max(0, machineCpuPercent - cpuPercent - generatorCpuPercent - (dependenciesCpuPercent ?? 0)),
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
  const entry = { name, child, exited: false, exit: undefined };
  child.once('exit', (code, signal) => {
    entry.exited = true;
    entry.exit = signal ?? `code ${code}`;
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

/**
 * Waits until the process has been (nearly) idle for two windows in a row:
 * work a stopped run left behind (requests still queued for bcrypt after the
 * load generator hung up) must not count against the next run. Bounded by
 * `maxMs`; returns how long it waited and whether it got there.
 */
export async function waitForIdle(pid, { windowMs = 250, maxPercent = 10, maxMs = 60_000 } = {}) {
  const start = Date.now();
  let quietWindows = 0;
  let previous = cpuSeconds(pid);
  while (Date.now() - start < maxMs) {
    await sleep(windowMs);
    const now = cpuSeconds(pid);
    if (now === undefined || previous === undefined) return { waitedMs: Date.now() - start, idle: false };
    const percent = ((now - previous) / (windowMs / 1000)) * 100;
    previous = now;
    quietWindows = percent < maxPercent ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return { waitedMs: Date.now() - start, idle: true };
  }
  return { waitedMs: Date.now() - start, idle: false };
}
