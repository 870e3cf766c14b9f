import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, NotFoundException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { allowedMethods } from '../http/allowed-methods.js';
import { AppError } from './app-error.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './dependency-errors.js';
import { ERROR_CATALOG, ErrorCode } from './error-codes.js';
import { PROBLEM_CONTENT_TYPE, problemDetails } from './problem-details.js';

/** The code of a framework error (Nest, Fastify, the throttler), which carries only a status. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.MALFORMED_REQUEST,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

/** The detail of an error that has none of its own that a client may read. */
const detailOf = (code: ErrorCode): string => ERROR_CATALOG[code].detail;

interface Normalized {
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: AppError['errors'];
  retryAfterSeconds?: number;
  headers?: Readonly<Record<string, string>>;
}

/** Maps anything thrown to a client-safe shape; unknown errors become a generic 500. */
export function normalizeError(error: unknown): Normalized {
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      detail: error.detail,
      errors: error.errors,
      retryAfterSeconds: error.retryAfterSeconds,
      ...(Object.keys(error.headers).length > 0 ? { headers: error.headers } : {}),
    };
  }
  if (error instanceof ThrottlerException) {
    return { status: 429, code: ErrorCode.RATE_LIMITED, detail: detailOf(ErrorCode.RATE_LIMITED) };
  }
  // HttpExceptions come from Nest itself (unknown route, ParseUUIDPipe...) and
  // Fastify errors (body too large, bad JSON) carry a 4xx statusCode; their
  // messages are framework text, so the detail is ours.
  const status =
    error instanceof HttpException
      ? error.getStatus()
      : typeof (error as { statusCode?: unknown })?.statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500;
  if (status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? ErrorCode.MALFORMED_REQUEST;
    return { status, code, detail: detailOf(code) };
  }
  if (status === 503) return { status, code: ErrorCode.SERVICE_UNAVAILABLE, detail: detailOf(ErrorCode.SERVICE_UNAVAILABLE) };
  if (isDatabaseUnavailable(error)) {
    return { status: 503, code: ErrorCode.SERVICE_UNAVAILABLE, detail: detailOf(ErrorCode.SERVICE_UNAVAILABLE), retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS };
  }
  return { status: 500, code: ErrorCode.INTERNAL_ERROR, detail: detailOf(ErrorCode.INTERNAL_ERROR) };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown, logger: Logger): void {
  const problem = normalizeError(error);
  if (problem.status === 503) {
    // Expected while a dependency is down (many at once): a warning, the client is told to retry.
    logger.warn({ err: error, correlationId: request.id }, 'request refused: a dependency is unavailable');
  } else if (problem.status >= 500) {
    // Shaped by the logger's error serializer (core/logging): type, code, message and stack, never a query's parameters.
    logger.error({ err: error, correlationId: request.id }, 'request failed');
  }
  if (problem.retryAfterSeconds !== undefined) reply.header('Retry-After', String(problem.retryAfterSeconds));
  for (const [name, value] of Object.entries(problem.headers ?? {})) reply.header(name, value);
  void reply
    .status(problem.status)
    .header('Content-Type', PROBLEM_CONTENT_TYPE)
    .send(problemDetails(problem.status, problem.code, problem.detail, request.id, problem.errors));
}

/**
 * Errors Node's HTTP parser raises before there is a request at all (headers
 * or URL past the size limit, a request that is not HTTP): answered on the
 * socket as problem+json, then the connection is closed, as Node does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = status === 431 ? 'The request line or headers are too large.' : status === 408 ? 'The request took too long to arrive.' : detailOf(ErrorCode.MALFORMED_REQUEST);
  const correlationId = randomUUID();
  const body = JSON.stringify(problemDetails(status, ErrorCode.MALFORMED_REQUEST, detail, correlationId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Correlation-ID: ${correlationId}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * A request no route took (Nest's not-found handler threw) whose path has
 * routes for other methods: 405 with the methods it does take in Allow
 * (RFC 9110 §15.5.6), not a 404 that says the resource is not there.
 */
function methodNotAllowed(request: FastifyRequest, error: unknown): AppError | undefined {
  if (!(error instanceof NotFoundException) || !request.is404) return undefined;
  const allowed = allowedMethods(request.server, request.url);
  if (allowed.length === 0) return undefined;
  return new AppError(ErrorCode.METHOD_NOT_ALLOWED, 405, `This method is not allowed here; this path accepts ${allowed.join(', ')}.`).withHeader(
    'Allow',
    allowed.join(', '),
  );
}

function isHealthReport(error: unknown): error is HttpException {
  if (!(error instanceof HttpException) || error.getStatus() !== 503) return false;
  const body = error.getResponse();
  return typeof body === 'object' && body !== null && 'details' in body && 'status' in body;
}

/** Renders every HTTP error as RFC 9457 problem+json (readiness reports excepted). */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    if (reply.sent) return;
    if (isHealthReport(error)) {
      // Readiness answers 503 with terminus's own body, which names the failing dependency.
      void reply.status(503).send(error.getResponse());
      return;
    }
    const request = http.getRequest<FastifyRequest>();
    sendProblem(request, reply, methodNotAllowed(request, error) ?? error, this.logger);
  }
}
