import {
  type ArgumentsHost,
  BadRequestException,
  HttpException,
  InternalServerErrorException,
  type Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AppError } from './app-error.js';
import { normalizeError, ProblemDetailsFilter, sendProblem } from './problem-details.filter.js';

describe('normalizeError', () => {
  it('passes an AppError through unchanged', () => {
    const error = new AppError('VALIDATION_FAILED', 400, 'The request has invalid fields.', [{ field: 'email', message: 'bad' }]);

    expect(normalizeError(error)).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: 'The request has invalid fields.',
      errors: [{ field: 'email', message: 'bad' }],
      retryAfterSeconds: undefined,
    });
  });

  it('keeps the Retry-After of an AppError', () => {
    expect(normalizeError(new AppError('SERVICE_UNAVAILABLE', 503, 'Later.', undefined, 7))).toMatchObject({
      status: 503,
      retryAfterSeconds: 7,
    });
  });

  it('turns an unknown Error into a generic 500 that leaks nothing', () => {
    const normalized = normalizeError(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'));

    expect(normalized).toEqual({ status: 500, code: 'INTERNAL_ERROR', detail: 'Something went wrong on our side.' });
    expect(JSON.stringify(normalized)).not.toMatch(/ECONNREFUSED|hunter2/);
  });

  it.each([['a string'], [null], [undefined], [42], [{ message: 'plain object' }]])('turns a thrown %p into a 500', (thrown) => {
    expect(normalizeError(thrown)).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
  });

  it.each([
    [413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.'],
    [415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'],
    [400, 'MALFORMED_REQUEST', 'The request could not be read.'],
    [404, 'NOT_FOUND', 'No such resource.'],
    [405, 'METHOD_NOT_ALLOWED', 'This method is not allowed here.'],
    [429, 'RATE_LIMITED', 'Too many requests; try again later.'],
  ])('maps a Fastify-style error with statusCode %d to %s', (statusCode, code, detail) => {
    const fastifyError = Object.assign(new Error('FST_ERR_SOMETHING: framework text'), { statusCode, code: 'FST_ERR_SOMETHING' });

    expect(normalizeError(fastifyError)).toEqual({ status: statusCode, code, detail });
  });

  it('maps an unlisted 4xx to MALFORMED_REQUEST with its own status', () => {
    expect(normalizeError({ statusCode: 408 })).toMatchObject({ status: 408, code: 'MALFORMED_REQUEST' });
  });

  it('does not trust a 5xx statusCode other than 503', () => {
    expect(normalizeError({ statusCode: 502, message: 'upstream' })).toEqual({
      status: 500,
      code: 'INTERNAL_ERROR',
      detail: 'Something went wrong on our side.',
    });
    expect(normalizeError({ statusCode: 503 })).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });

  it('uses our detail, not Nest text, for HttpExceptions', () => {
    expect(normalizeError(new NotFoundException('Cannot GET /nope'))).toEqual({
      status: 404,
      code: 'NOT_FOUND',
      detail: 'No such resource.',
    });
    expect(normalizeError(new BadRequestException('Unexpected token } in JSON'))).toMatchObject({
      status: 400,
      code: 'MALFORMED_REQUEST',
    });
    expect(normalizeError(new PayloadTooLargeException())).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(normalizeError(new InternalServerErrorException('db exploded'))).toEqual({
      status: 500,
      code: 'INTERNAL_ERROR',
      detail: 'Something went wrong on our side.',
    });
    expect(normalizeError(new HttpException('teapot', 418))).toMatchObject({ status: 418, code: 'MALFORMED_REQUEST' });
  });

  it('maps the throttler to 429 RATE_LIMITED', () => {
    expect(normalizeError(new ThrottlerException())).toEqual({
      status: 429,
      code: 'RATE_LIMITED',
      detail: 'Too many requests; try again later.',
    });
  });
});

function fakeReply(sent = false) {
  const reply = { sent, status: jest.fn(), header: jest.fn(), send: jest.fn() };
  reply.status.mockReturnValue(reply);
  reply.header.mockReturnValue(reply);
  reply.send.mockReturnValue(reply);
  return reply;
}

describe('sendProblem', () => {
  const request = { id: 'corr-1' } as FastifyRequest;

  it('renders problem+json with the correlation id and field errors', () => {
    const reply = fakeReply();
    const logger = { error: jest.fn() };

    sendProblem(request, reply as unknown as FastifyReply, new AppError('EMAIL_TAKEN', 409, 'Taken.', [{ field: 'email', message: 'x' }]), logger as unknown as Logger);

    expect(reply.status).toHaveBeenCalledWith(409);
    expect(reply.header).toHaveBeenCalledWith('Content-Type', 'application/problem+json');
    expect(reply.send).toHaveBeenCalledWith({
      type: 'urn:problem:user-service:email-taken',
      title: 'Conflict',
      status: 409,
      detail: 'Taken.',
      code: 'EMAIL_TAKEN',
      correlationId: 'corr-1',
      errors: [{ field: 'email', message: 'x' }],
    });
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('logs unknown errors, with the error, and sends only the generic body', () => {
    const reply = fakeReply();
    const logger = { error: jest.fn() };
    const error = new Error('secret internals');

    sendProblem(request, reply as unknown as FastifyReply, error, logger as unknown as Logger);

    expect(logger.error).toHaveBeenCalledWith({ err: error, correlationId: 'corr-1' }, 'request failed');
    expect(reply.send).toHaveBeenCalledWith(expect.objectContaining({ status: 500, code: 'INTERNAL_ERROR' }));
    expect(JSON.stringify(reply.send.mock.calls[0])).not.toContain('secret internals');
  });

  it('sets Retry-After when the error gives one', () => {
    const reply = fakeReply();

    sendProblem(request, reply as unknown as FastifyReply, new AppError('RATE_LIMITED', 429, 'Slow down.', undefined, 30), {
      error: jest.fn(),
    } as unknown as Logger);

    expect(reply.header).toHaveBeenCalledWith('Retry-After', '30');
  });

  it('sends the headers an AppError carries (WWW-Authenticate, Allow)', () => {
    const reply = fakeReply();
    const error = new AppError('UNAUTHENTICATED', 401, 'A valid access token is required.').withHeader('WWW-Authenticate', 'Bearer realm="user-service"');

    sendProblem(request, reply as unknown as FastifyReply, error, { error: jest.fn() } as unknown as Logger);

    expect(reply.header).toHaveBeenCalledWith('WWW-Authenticate', 'Bearer realm="user-service"');
    expect(reply.status).toHaveBeenCalledWith(401);
  });
});

describe('ProblemDetailsFilter', () => {
  const hostFor = (type: string, reply: ReturnType<typeof fakeReply>) =>
    ({
      getType: () => type,
      switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ id: 'corr-2' }) }),
    }) as unknown as ArgumentsHost;

  it('rethrows outside HTTP', () => {
    const error = new Error('rpc');

    expect(() => new ProblemDetailsFilter().catch(error, hostFor('rpc', fakeReply()))).toThrow(error);
  });

  it('leaves an already sent reply alone', () => {
    const reply = fakeReply(true);

    new ProblemDetailsFilter().catch(new AppError('NOT_FOUND', 404, 'x'), hostFor('http', reply));

    expect(reply.send).not.toHaveBeenCalled();
  });

  describe('a request no route took', () => {
    // A router that has GET, HEAD and PATCH on /users/me, and nothing else.
    const server = {
      supportedMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      findRoute: ({ method, url }: { method: string; url: string }) =>
        url === '/users/me' && ['GET', 'HEAD', 'PATCH'].includes(method) ? { handler: () => undefined, params: {} } : null,
    };
    const missed = (url: string, is404 = true) =>
      ({
        getType: () => 'http',
        switchToHttp: () => ({ getResponse: () => reply, getRequest: () => ({ id: 'corr-3', url, is404, server }) }),
      }) as unknown as ArgumentsHost;
    let reply: ReturnType<typeof fakeReply>;
    beforeEach(() => {
      reply = fakeReply();
    });

    it('is a 405 with Allow when its path has routes for other methods', () => {
      new ProblemDetailsFilter().catch(new NotFoundException('Cannot PUT /users/me'), missed('/users/me'));

      expect(reply.status).toHaveBeenCalledWith(405);
      expect(reply.header).toHaveBeenCalledWith('Allow', 'GET, HEAD, PATCH');
      expect(reply.send).toHaveBeenCalledWith(
        expect.objectContaining({ status: 405, code: 'METHOD_NOT_ALLOWED', title: 'Method Not Allowed', type: 'urn:problem:user-service:method-not-allowed' }),
      );
    });

    it('stays a 404 for a path no route has, and for a NotFoundException a route threw', () => {
      new ProblemDetailsFilter().catch(new NotFoundException(), missed('/nowhere'));
      new ProblemDetailsFilter().catch(new NotFoundException(), missed('/users/me', false));

      expect(reply.status.mock.calls).toEqual([[404], [404]]);
      expect(reply.header).not.toHaveBeenCalledWith('Allow', expect.anything());
    });
  });

  it('renders HTTP errors', () => {
    const reply = fakeReply();

    new ProblemDetailsFilter().catch(new AppError('NOT_FOUND', 404, 'No such resource.'), hostFor('http', reply));

    expect(reply.send).toHaveBeenCalledWith(expect.objectContaining({ status: 404, code: 'NOT_FOUND', correlationId: 'corr-2' }));
  });
});
