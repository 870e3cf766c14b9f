import { existsSync, readFileSync } from 'node:fs';

/** The nearest package.json above this file: the project's, from src/ (tests) and dist/src/ (the build) alike. */
function manifest(): { name: string; version: string; description: string } {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    const candidate = new URL('package.json', dir);
    if (existsSync(candidate)) return JSON.parse(readFileSync(candidate, 'utf8'));
  }
  throw new Error('no package.json above the service code');
}

const { name, version, description } = manifest();

export const SERVICE = { name, version, description } as const;
