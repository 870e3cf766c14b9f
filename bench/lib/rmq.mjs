// The RabbitMQ loads: request/response round trips through a real Nest
// ClientProxy built from the service's own client kit, and the outbox's
// commit-to-broker latency seen by a consumer of the events exchange.
import { performance } from 'node:perf_hooks';

import { ClientRMQ } from '@nestjs/microservices';
import amqplib from 'amqplib';
import { firstValueFrom, timeout } from 'rxjs';

import { startProcessSampler } from './proc.mjs';

/** The kit is what other services import: the benchmark loads the service through it too (from dist/). */
export async function loadClientKit(root) {
  const messages = await import(`${root}/dist/src/client-kit/user-service.messages.js`);
  const client = await import(`${root}/dist/src/client-kit/user-service.client.js`);
  return { ...messages, ...client };
}

/** A connected Nest ClientProxy for `queue`, with the kit's options. */
export async function connectClient(kit, url, queue) {
  const client = new ClientRMQ(kit.userServiceClientOptions(url, queue).options);
  await client.connect();
  return client;
}

const round = (ms) => Math.round(ms * 100) / 100;

/** Percentile p (0..100) of sorted numbers, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The summary shape of load.mjs (autocannon's), for latencies in ms and a count per outcome. */
export function summarizeLatencies(latencies, { seconds, failures = 0, errors = 0, timeouts = 0, statusCodes = {}, requests, rps }) {
  const sorted = Float64Array.from(latencies).sort();
  const total = requests ?? latencies.length + failures;
  return {
    rps: rps ?? total / seconds,
    requests: total,
    ok2xx: latencies.length,
    p50: round(percentile(sorted, 50) ?? NaN),
    p90: round(percentile(sorted, 90) ?? NaN),
    p99: round(percentile(sorted, 99) ?? NaN),
    maxLatency: round(sorted.at(-1) ?? NaN),
    errors,
    timeouts,
    non2xx: failures - errors - timeouts,
    failures,
    statusCodes,
    seconds,
  };
}

/**
 * Keeps `inFlight` requests of `pattern` outstanding for `duration` seconds
 * (each worker sends its next one when the previous one is answered), taking
 * the payloads in turn. `check(reply, payload)` says whether an answer is right;
 * a wrong answer, an RPC error or a timeout is a failure.
 */
export async function runRpcLoad({ client, pattern, payloads, check, inFlight, duration, timeoutMs, pid }) {
  const sampler = startProcessSampler(pid);
  const latencies = [];
  const outcomes = {};
  let failures = 0;
  let errors = 0;
  let timeouts = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + duration * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const payload = payloads[next++ % payloads.length];
      const sent = performance.now();
      try {
        const reply = await firstValueFrom(client.send(pattern, payload).pipe(timeout(timeoutMs)));
        if (check(reply, payload)) {
          latencies.push(performance.now() - sent);
          continue;
        }
        outcomes.wrong = (outcomes.wrong ?? 0) + 1;
      } catch (error) {
        const kind = error?.name === 'TimeoutError' ? 'timeout' : (error?.code ?? 'error');
        outcomes[kind] = (outcomes[kind] ?? 0) + 1;
        if (kind === 'timeout') timeouts += 1;
        else errors += 1;
      }
      failures += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  const process = sampler.stop();
  return { process, summary: summarizeLatencies(latencies, { seconds, failures, errors, timeouts, statusCodes: outcomes }) };
}

/** Epoch milliseconds with sub-millisecond precision, comparable with the service's Date.now() on this machine. */
const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Registers new users through POST /auth/register for `duration` seconds,
 * `connections` at a time (closed loop) or, given `ratePerSecond`, at that
 * steady rate (open loop), while a consumer of its own bound to `user.created`
 * on the events exchange notes when each user's event arrives. Then waits (at
 * most `settleMs`) for the events of every user registered.
 *
 * Per event: arrival − occurredAt (stamped in the registering transaction,
 * just before its commit: an upper bound of commit-to-broker-to-consumer),
 * and arrival − the 201's receipt by the client (the response is sent after
 * the commit too, so this one can be negative).
 */
export async function runOutboxLatency({ url, rabbitmqUrl, exchange, emailOf, password, connections, ratePerSecond, duration, settleMs, pid }) {
  const connection = await amqplib.connect(rabbitmqUrl);
  const registered = new Map(); // user id -> 201 receipt (epoch ms)
  const arrivals = new Map(); // user id -> { arrivedAt, occurredAt }
  let duplicates = 0;
  let foreign = 0;
  let lastArrival = 0;
  let sampler;
  try {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, exchange, 'user.created');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const arrivedAt = nowMs();
        lastArrival = arrivedAt;
        const { data } = JSON.parse(message.content.toString('utf8'));
        const id = data?.user?.id;
        if (!id) {
          foreign += 1;
          return;
        }
        if (arrivals.has(id)) duplicates += 1;
        else arrivals.set(id, { arrivedAt, occurredAt: Date.parse(data.occurredAt) });
      },
      { noAck: true },
    );

    sampler = startProcessSampler(pid);
    const registerLatencies = [];
    const statusCodes = {};
    let failures = 0;
    let errors = 0;
    let next = 0;
    const registerOne = async () => {
      const n = next++;
      const sent = performance.now();
      try {
        const response = await fetch(`${url}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: emailOf(n), password, name: `Bench Outbox ${n}` }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await response.text();
        const receivedAt = nowMs();
        statusCodes[response.status] = (statusCodes[response.status] ?? 0) + 1;
        if (response.status === 201) {
          registered.set(JSON.parse(body).user.id, receivedAt);
          registerLatencies.push(performance.now() - sent);
          return;
        }
      } catch {
        errors += 1;
      }
      failures += 1;
    };
    const started = performance.now();
    const deadline = started + duration * 1000;
    if (ratePerSecond) {
      // Open loop: one registration every 1/rate s, whatever the answers take.
      const inFlight = [];
      for (let i = 0; ; i++) {
        const wait = started + (i * 1000) / ratePerSecond - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (performance.now() >= deadline) break;
        inFlight.push(registerOne());
      }
      await Promise.all(inFlight);
    } else {
      const worker = async () => {
        while (performance.now() < deadline) await registerOne();
      };
      await Promise.all(Array.from({ length: connections }, worker));
    }
    const loadSeconds = (performance.now() - started) / 1000;
    const settleDeadline = performance.now() + settleMs;
    const missingNow = () => [...registered.keys()].filter((id) => !arrivals.has(id)).length;
    while (missingNow() > 0 && performance.now() < settleDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const process = sampler.stop();
    sampler = undefined;

    const toBroker = [];
    const after201 = [];
    for (const [id, receivedAt] of registered) {
      const arrival = arrivals.get(id);
      if (!arrival) continue;
      toBroker.push(arrival.arrivedAt - arrival.occurredAt);
      after201.push(arrival.arrivedAt - receivedAt);
    }
    const missing = registered.size - toBroker.length;
    // Events per second from the first registration to the last event's arrival.
    const eventSeconds = Math.max(loadSeconds, (lastArrival - (performance.timeOrigin + started)) / 1000);
    const eventCounts = { arrived: toBroker.length, missing, duplicates, foreign };
    const eventSummary = (latencies) =>
      summarizeLatencies(latencies, {
        seconds: eventSeconds,
        failures: missing + duplicates,
        requests: toBroker.length + missing,
        rps: toBroker.length / eventSeconds,
        statusCodes: eventCounts,
      });
    return {
      process,
      loads: {
        'commit-to-broker': eventSummary(toBroker),
        'after-201': eventSummary(after201),
        register: summarizeLatencies(registerLatencies, { seconds: loadSeconds, failures, errors, statusCodes }),
      },
    };
  } finally {
    sampler?.stop();
    await connection.close().catch(() => undefined);
  }
}
