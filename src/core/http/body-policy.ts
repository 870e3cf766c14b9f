import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Deeper than any body of the API (the deepest, a lookup's id list, is 2): a deeper one is refused before anything walks it. */
export const MAX_BODY_DEPTH = 16;

class BodyRejected extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Levels of arrays and objects in a parsed JSON value, counted with a stack of its own (never the call stack). */
export function depthOf(value: unknown, limit = Infinity): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const item of Array.isArray(current) ? current : Object.values(current)) {
      if (item !== null && typeof item === 'object') pending.push([item, level]);
    }
  }
  return deepest;
}

/**
 * The one body-parsing policy of the HTTP API: JSON only (application/json
 * and its +json forms, parsed with Fastify's prototype-poisoning protection),
 * at most MAX_BODY_DEPTH levels deep; any other content type is 415, which
 * Fastify raises by itself once no other parser is registered. Nest's own
 * parsers are off (bodyParser: false), including its form-urlencoded one.
 *
 * An empty body labelled JSON is no body, as if the Content-Type were not
 * there (HTTP clients send the header on every request, POST /auth/logout
 * included): a route that takes no body accepts it, and one that needs a body
 * gets its field problems (every required field "is required") from validation.
 */
export function installBodyPolicy(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    // application/json and the +json types, with or without parameters such as charset.
    /^application\/(?:[\w.-]+\+)?json(?:\s*;|$)/i,
    { parseAs: 'string' },
    (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
      if (body.length === 0) return done(null, undefined);
      parseJson(request, body as string, (error: Error | null, value?: unknown) => {
        if (error) return done(error);
        if (depthOf(value, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
          return done(new BodyRejected(400, `the body is nested more than ${MAX_BODY_DEPTH} levels deep`));
        }
        done(null, value);
      });
    },
  );
}
