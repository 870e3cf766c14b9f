// One load run: one or more autocannon instances at once against one target,
// with that target process's CPU and RSS sampled over the run.
import autocannon from 'autocannon';

import { startProcessSampler } from './proc.mjs';

/** autocannon's result, reduced to what we report. */
function summarize(result) {
  const statusCodes = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = count;
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    ok2xx: result['2xx'],
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    maxLatency: result.latency.max,
    errors: result.errors, // connection errors and timeouts
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    failures: result.errors + result.non2xx,
    statusCodes,
    seconds: result.duration,
  };
}

/**
 * Runs every load of `loads` concurrently for `duration` seconds against the
 * target whose process is `pid`. Each load is { name, url, connections, options }.
 */
export async function runLoads(loads, pid, { duration, timeoutSeconds = 10 }) {
  const sampler = startProcessSampler(pid);
  const results = await Promise.all(
    loads.map((load) =>
      autocannon({
        url: load.url,
        connections: load.connections,
        duration,
        timeout: timeoutSeconds,
        pipelining: 1,
        ...load.options,
      }),
    ),
  );
  const process = sampler.stop();
  return {
    process,
    loads: Object.fromEntries(loads.map((load, i) => [load.name, summarize(results[i])])),
  };
}

/** The run whose `key` is the median (lower middle for an even count). */
export function medianBy(runs, key) {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
