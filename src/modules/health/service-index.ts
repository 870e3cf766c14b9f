import { SERVICE } from '../../core/runtime/service-info.js';

/** Where everything is, for a person or a client that starts at the root (the console only where it is served). */
export function serviceIndex(consoleEnabled = false) {
  return {
    ...SERVICE,
    links: {
      api: '/api/v1',
      docs: '/docs',
      openapi: '/docs-json',
      asyncapi: '/asyncapi.json',
      jwks: '/.well-known/jwks.json',
      live: '/api/v1/health/live',
      ready: '/api/v1/health/ready',
      metrics: '/metrics',
      ...(consoleEnabled ? { console: '/console' } : {}),
    },
  };
}

export type ServiceIndex = ReturnType<typeof serviceIndex>;
