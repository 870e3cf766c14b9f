import type { AddressInfo } from 'node:net';

import * as fc from 'fast-check';

import { registerUser } from '../factories/user.factory.js';
import { createAdmin } from '../utils/admin.js';
import { examplesFor, type Facet, FACETS, type RequestSpec, requestsFor } from '../utils/fuzz/arbitraries.js';
import { requestViolation, routeFor } from '../utils/fuzz/conformance.js';
import { type OpenApiDocument, type Operation, operationsOf } from '../utils/fuzz/openapi.js';
import { EchoSet, problemsWith } from '../utils/fuzz/oracle.js';
import { type Principals, Seeds } from '../utils/fuzz/principals.js';
import { describeAnswer, describeRequest, FuzzReport } from '../utils/fuzz/report.js';
import { prepare, send } from '../utils/fuzz/send.js';
import { bootTestApp, type TestApp } from '../utils/test-app.js';

/**
 * Issue 11: every operation of /docs-json, fuzzed from its own schemas, keeps
 * the conventions (see test/utils/fuzz/oracle.ts): never a 5xx, errors as
 * problem+json with a known code, no internals in any answer, a 2xx only for
 * a request the document allows.
 *
 * Seeded: FUZZ_SEED=<n> replays a run; FUZZ_ONLY='<METHOD /path>#<facet>'
 * narrows it to the operations (and facets) whose key contains that text, and
 * with FUZZ_PATH (fast-check's path, printed on failure) replays just the
 * counterexample. FUZZ_RUNS sets the random requests per operation (default 200), on top of
 * the fixed examples every run tries (each hostile string in each string
 * field, each content type, each credential, the bad paths).
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, not ${process.env.FUZZ_SEED}`);
const ONLY = process.env.FUZZ_ONLY;
const PATH = process.env.FUZZ_PATH;
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 200);
/** Shares of an operation's runs; transport only where a method carries a body. */
const FACET_SHARE: Record<Facet, number> = { schema: 0.4, transport: 0.2, path: 0.2, auth: 0.2 };
/** Requests spent shrinking one failure to a small counterexample, at most (past it, every run passes, which ends the shrinking). */
const SHRINK_BUDGET = 150;

/** One seed per operation and facet, derived from the run's: replaying one alone generates the same requests. */
function seedOf(key: string): number {
  let hash = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash | 0;
}

const replay = (key?: string, path?: string) =>
  `FUZZ_SEED=${SEED}${key ? ` FUZZ_ONLY='${key}'` : ''}${path ? ` FUZZ_PATH='${path}'` : ''} npx jest test/e2e/openapi-fuzz`;

describe('OpenAPI-driven fuzz (e2e)', () => {
  let t: TestApp;
  let port: number;
  let operations: Operation[];
  let seeds: Seeds;
  const echoes = new EchoSet();
  const report = new FuzzReport();

  beforeAll(async () => {
    t = await bootTestApp({
      // A login beyond the session limit would end the seeded session; the per-key limit would cut the API-key cases short.
      env: { MAX_SESSIONS_PER_USER: '1000', API_KEY_RATE_LIMIT: '1000000' },
    });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    const document = (await t.http().get('/docs-json').expect(200)).body as OpenApiDocument;
    operations = operationsOf(document);
    const withApiKey = Boolean(document.components?.securitySchemes?.apiKey);
    // The seed: a registered user nobody signs in as (someone else's id), and the admin that makes each operation's admins.
    const bystander = await registerUser(t.http);
    const root = await createAdmin(t);
    seeds = new Seeds(t, root.accessToken, bystander.id, withApiKey);
  }, 60_000);

  afterAll(() => t?.close());

  /** Runs one facet of one operation (numRuns random requests after its fixed examples); returns fast-check's verdict when something failed. */
  async function fuzz(operation: Operation, facet: Facet, numRuns: number, context: { principals: Principals }): Promise<string | undefined> {
    const key = `${operation.key}#${facet}`;
    const seed = seedOf(key);
    let failuresSeen = 0;
    let executionsAfterFailure = 0;
    let asserting = false;

    const property = fc.asyncProperty(requestsFor(operation, facet), async (spec: RequestSpec) => {
      if (asserting && failuresSeen > 0 && ++executionsAfterFailure > SHRINK_BUDGET) return true;
      const prepared = prepare(operation, spec, context.principals);
      echoes.add(prepared.strings);
      const answer = await send(port, prepared);
      // Judged as the operation the path reaches (a path id of `me` is another route).
      const route = prepared.sent.offRoute ? undefined : routeFor(operations, operation.method, prepared.path.split('?')[0]!);
      const violation = route ? requestViolation(route.operation, { ...prepared.sent, pathValues: route.pathValues }) : requestViolation(operation, prepared.sent);
      const problems = problemsWith(answer, violation, echoes);
      let code: unknown;
      try {
        code = answer.status >= 400 ? JSON.parse(answer.text).code : undefined;
      } catch {
        code = 'not JSON';
      }
      if (!asserting || PATH) report.answered(operation.key, answer, code);
      if (problems.length) {
        failuresSeen += 1;
        if (!asserting) report.failed(operation.key, spec, prepared, answer, problems);
      }
      // A case may have ended the seeded session, blocked, deactivated or promoted the user, or revoked the key: mend them.
      if (operation.method !== 'GET' && answer.status >= 200 && answer.status < 300) await seeds.repair(context.principals);
      if (!asserting || problems.length === 0) return true;
      throw new Error(`${problems.join('\n')}\n  request: ${describeRequest(prepared)}\n  answer: ${describeAnswer(answer)}`);
    });

    // First explore every run, recording every failure class; then, only if one was found,
    // run again to let fast-check shrink the first failure and name its seed and path.
    // Made afresh for each pass (their emails must be new). fast-check counts them in numRuns: the random runs come on top.
    const runs = () => {
      const examples = examplesFor(operation, facet).map((spec): [RequestSpec] => [spec]);
      return { seed, numRuns: numRuns + examples.length, examples };
    };
    if (!PATH) {
      await fc.check(property, runs());
      if (failuresSeen === 0) return undefined;
    }
    asserting = true;
    failuresSeen = 0;
    const details = await fc.check(property, { ...runs(), ...(PATH ? { path: PATH } : {}) });
    if (!details.failed) return `${key}: failed while exploring, not when replayed (state-dependent); replay: ${replay(key)}`;
    const message = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    return [
      `${key}: ${message.split('\n')[0]}`,
      `  fast-check: { seed: ${details.seed}, path: "${details.counterexamplePath}" } after ${details.numRuns} runs and ${details.numShrinks} shrinks`,
      ...message.split('\n').slice(1),
      `  replay: ${replay(key, details.counterexamplePath ?? undefined)}`,
    ].join('\n');
  }

  it('every operation of the OpenAPI document keeps the conventions', async () => {
    expect(operations.length).toBeGreaterThan(20);
    const started = Date.now();
    const verdicts: string[] = [];
    let fuzzed = 0;
    for (const operation of operations) {
      const facets = FACETS.filter((facet) => facet !== 'transport' || operation.method !== 'GET').filter((facet) => !ONLY || `${operation.key}#${facet}`.includes(ONLY));
      if (!facets.length) continue;
      fuzzed += 1;
      const context = { principals: await seeds.fresh() };
      const shares = facets.reduce((sum, facet) => sum + FACET_SHARE[facet], 0);
      for (const facet of facets) {
        const numRuns = Math.max(10, Math.round((RUNS_PER_OPERATION * FACET_SHARE[facet]) / shares));
        const verdict = await fuzz(operation, facet, numRuns, context);
        if (verdict) verdicts.push(verdict);
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const header = `OpenAPI fuzz: seed ${SEED}, ${fuzzed} operations, ${report.cases} requests in ${seconds} s`;
    if (process.env.FUZZ_VERBOSE) console.log(`${header}\n${report.summary()}`);
    if (report.failures.size || verdicts.length) {
      console.error(`${header}: ${report.failures.size} failure classes. Replay with: ${replay()}`);
      throw new Error(`${header}; replay with: ${replay()}\n\n${verdicts.join('\n\n')}\n\nEvery failure class:\n${report.failureList()}`);
    }
    expect(fuzzed).toBeGreaterThan(0);
  }, 600_000);
});
