import { readFileSync } from 'node:fs';

import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONSOLE_PATH = '/console';

/**
 * The console's page talks to this origin's API only and runs no inline code,
 * so a script injected through data (a user's name) has nowhere to run and
 * nowhere to send a token.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** The page's files, beside this module in src/ and copied beside it in dist/ by the build. */
function readAssets(): Map<string, { body: Buffer; type: string }> {
  const folder = new URL('./public/', import.meta.url);
  return new Map(Object.entries(ASSETS).map(([name, type]) => [name, { body: readFileSync(new URL(name, folder)), type }]));
}

function send(reply: FastifyReply, asset: { body: Buffer; type: string }) {
  return reply
    .header('Content-Type', asset.type)
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Frame-Options', 'DENY')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cross-Origin-Opener-Policy', 'same-origin')
    // Small files read once at start: revalidate on every load, so a new release is picked up at once.
    .header('Cache-Control', 'no-cache')
    .send(asset.body);
}

/**
 * Serves the admin console (a static page over the admin API, which checks
 * every request itself) at /console. The files are read into memory at start.
 */
export function installAdminConsole(fastify: FastifyInstance): void {
  const assets = readAssets();
  const page = assets.get('index.html')!;
  fastify.get(CONSOLE_PATH, (_request, reply) => send(reply, page));
  fastify.get(`${CONSOLE_PATH}/`, (_request, reply) => reply.redirect(CONSOLE_PATH, 301));
  for (const [name, asset] of assets) {
    if (name !== 'index.html') fastify.get(`${CONSOLE_PATH}/${name}`, (_request, reply) => send(reply, asset));
  }
}
