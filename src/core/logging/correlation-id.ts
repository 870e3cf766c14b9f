import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CORRELATION_HEADER = 'x-correlation-id';

// A caller's id is kept only when it is short and plain, so it cannot forge log lines.
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's correlation id if it may be kept, else a new UUID (HTTP header or message header alike). */
export function acceptedCorrelationId(given: unknown): string {
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}

/** Fastify's genReqId (request.id): the caller's X-Correlation-ID, or a new UUID. */
export function correlationIdFor(req: IncomingMessage): string {
  return acceptedCorrelationId(req.headers[CORRELATION_HEADER]);
}
