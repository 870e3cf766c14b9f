/**
 * Jest runs globalSetup/globalTeardown outside its module registry, so its
 * moduleNameMapper (which maps the ESM-style `./x.js` imports of the sources
 * to `./x.ts`) does not apply there. This does the same for those two files.
 */
import Module from 'node:module';

type Resolve = (request: string, ...rest: unknown[]) => string;
const resolver = Module as unknown as { _resolveFilename: Resolve };
const original = resolver._resolveFilename;
resolver._resolveFilename = function resolveTs(this: unknown, request: string, ...rest: unknown[]) {
  try {
    return original.call(this, request, ...rest);
  } catch (error) {
    if (request.startsWith('.') && request.endsWith('.js')) return original.call(this, request.slice(0, -3), ...rest);
    throw error;
  }
};
