import { randomUUID } from 'node:crypto';

import type { FastifyInstance } from 'fastify';

/** The order methods are listed in an Allow header; others (should any be routed) follow. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const rank = (method: string) => (ORDER.includes(method) ? ORDER.indexOf(method) : ORDER.length);

/** Per app: the handler of each method's catch-all route (CORS's `OPTIONS *`), which matches every path. */
const catchAllsByApp = new WeakMap<FastifyInstance, Map<string, unknown>>();

function catchAlls(fastify: FastifyInstance): Map<string, unknown> {
  let found = catchAllsByApp.get(fastify);
  if (!found) {
    // A route that matches a path no route names is a catch-all; routes are fixed once the app is ready.
    const nowhere = `/${randomUUID()}`;
    found = new Map();
    for (const method of fastify.supportedMethods) {
      const route = fastify.findRoute({ method, url: nowhere });
      if (route) found.set(method, route.handler);
    }
    catchAllsByApp.set(fastify, found);
  }
  return found;
}

/**
 * The methods the router serves on this path (query string ignored), as an
 * Allow header lists them: HEAD wherever Fastify serves it for a GET, and a
 * method only through a route of this path, never through a catch-all (CORS's
 * `OPTIONS *`, which answers preflights on any path but a plain OPTIONS
 * nowhere). Empty for a path no route names.
 */
export function allowedMethods(fastify: FastifyInstance, url: string): string[] {
  const wildcards = catchAlls(fastify);
  return fastify.supportedMethods
    .filter((method) => {
      const route = fastify.findRoute({ method, url });
      return route !== null && route.handler !== wildcards.get(method);
    })
    .sort((a, b) => rank(a) - rank(b));
}
