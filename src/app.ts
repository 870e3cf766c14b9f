import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import { Logger as NestLogger, VersioningType } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { getOptionsToken, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { Logger } from 'nestjs-pino';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';

import { AppModule } from './app.module.js';
import type { AppConfig } from './core/config/config.js';
import { clientErrorHandler, sendProblem } from './core/errors/problem-details.filter.js';
import { installBodyPolicy } from './core/http/body-policy.js';
import { setupSwagger } from './core/http/swagger.js';
import { createValidationPipe } from './core/http/validation.js';
import { correlationIdFor } from './core/logging/correlation-id.js';
import { RequestLog } from './core/logging/logging.module.js';
import { quietStartUp } from './core/logging/quiet-start-up.js';
import { RequestContext } from './core/logging/request-context.js';
import { setupAsyncApi } from './core/messaging/asyncapi.js';
import { BrokerConnection } from './core/messaging/broker-connection.js';
import { serviceQueueServer } from './core/messaging/rmq-options.js';
import { RmqServerStartup } from './core/messaging/rmq-server-startup.js';
import { MetricsService } from './core/metrics/metrics.service.js';
import { installAdminConsole } from './modules/admin/console/admin-console.js';
import { serviceIndex } from './modules/health/service-index.js';

const frameworkErrorLogger = new NestLogger('Errors');

export interface AppOptions {
  /** Where JSON logs go; stdout by default. */
  logDestination?: DestinationStream;
}

/**
 * Builds the hybrid app (HTTP on Fastify, plus the RMQ microservice when a
 * broker is configured) and initializes it; the caller decides whether to listen.
 */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: correlationIdFor,
    requestIdHeader: false,
    logger: false,
    // Errors Fastify raises before any route or Nest sees the request (a malformed URL): problem+json like the rest.
    // (The onRequest hook that sets X-Correlation-ID has not run for them.)
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      reply.header('X-Correlation-ID', request.id);
      sendProblem(request, reply, error, frameworkErrorLogger);
    },
    // And those of Node's HTTP parser, before there is a request (headers past the size limit).
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.logDestination), adapter, {
    bufferLogs: true,
    // The body policy below is the only one: Nest's parsers would add form-urlencoded.
    bodyParser: false,
  });
  app.useLogger(quietStartUp(app.get(Logger)));
  app.setGlobalPrefix('api', { exclude: ['metrics', '.well-known/jwks.json'] });
  app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
  app.useGlobalPipes(createValidationPipe());

  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);
  const context = app.get(RequestContext);
  const requestLog = app.get(RequestLog).logger;
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Correlation-ID', request.id);
    reply.header('X-Content-Type-Options', 'nosniff');
    // API answers can hold tokens and personal data: never cache them.
    if (request.url.startsWith('/api/')) reply.header('Cache-Control', 'no-store');
    // The request's context for everything that runs for it (the correlation id in logs and events).
    context.run(request.id, done);
  });
  // One line and one observation per request.
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const queryStart = request.url.indexOf('?');
    requestLog[reply.statusCode >= 500 ? 'error' : 'info'](
      {
        correlationId: request.id,
        method: request.method,
        // Without the query string: a client could put anything there, a token included.
        path: queryStart === -1 ? request.url : request.url.slice(0, queryStart),
        route,
        statusCode: reply.statusCode,
        remoteAddress: request.ip,
        responseTime: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
    done();
  });
  // JSON only, bounded depth: other bodies are 415 rather than strings that fail validation field by field.
  installBodyPolicy(fastify);
  // The root, outside the API prefix: the index GET /api/v1 serves, not a 404.
  const index = serviceIndex(config.admin.consoleEnabled);
  fastify.get('/', (_request, reply) => reply.send(index));
  if (config.admin.consoleEnabled) installAdminConsole(fastify);
  // After the hooks above, so preflight answers carry the correlation id too.
  if (config.cors.origins.length > 0) await app.register(fastifyCors, corsOptions(config.cors, exposedHeaders(app)));

  setupSwagger(app);
  setupAsyncApi(app);
  if (config.rabbitmqUrl) {
    const server = serviceQueueServer({ ...config, rabbitmqUrl: config.rabbitmqUrl }, context, app.get(BrokerConnection));
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  }
  await app.init();
  if (config.rabbitmqUrl) {
    // The RMQ server retries its connection forever: awaiting it would keep
    // HTTP down for as long as the broker is. It starts consuming once connected.
    const started = app.startAllMicroservices();
    started.catch((error: unknown) => app.get(Logger).error({ err: error }, 'RMQ server failed to start'));
    app.get(RmqServerStartup).track(started);
  }
  return app;
}

/**
 * CORS for the configured origins only, answered in an onRequest hook, so a
 * preflight never reaches the guards, rate limits or body parsing (browsers
 * send it without Authorization). A preflight from another origin gets a 204
 * without Access-Control-Allow-Origin, which the browser refuses; a request
 * without Origin (not from a browser) gets no CORS headers at all, and a bare
 * OPTIONS is answered as without CORS (405 on a path of the API, 404 elsewhere).
 */
function corsOptions(cors: AppConfig['cors'], exposedHeaders: string[]): { delegator: FastifyCorsOptions['delegator'] } {
  const origins = new Set(cors.origins);
  const common: FastifyCorsOptions = {
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Correlation-ID', 'X-API-Key'],
    maxAge: 600,
    // An OPTIONS with an Origin but no Access-Control-Request-Method gets a 204 too, not a text/plain 400.
    strictPreflight: false,
  };
  // Chosen per request, so only the configured origins get the credentials flag, and only their
  // real answers the (long) exposed list: browsers read it there, never on a preflight.
  const preflight: FastifyCorsOptions = { ...common, origin: cors.origins, credentials: cors.allowCredentials };
  const allowed: FastifyCorsOptions = { ...preflight, exposedHeaders };
  const otherOrigin: FastifyCorsOptions = { ...common, origin: [] };
  const noOrigin: FastifyCorsOptions = { origin: false };
  return {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      if (origin === undefined) callback(null, noOrigin);
      else if (!origins.has(origin)) callback(null, otherOrigin);
      else callback(null, request.method === 'OPTIONS' ? preflight : allowed);
    },
  };
}

/**
 * The response headers a browser script may read: the correlation id,
 * Retry-After (429, 503), WWW-Authenticate (401, and 403 for a role), Allow
 * (405), and the rate-limit headers @nestjs/throttler sets for each named
 * limit (X-RateLimit-Limit-login and so on).
 */
function exposedHeaders(app: NestFastifyApplication): string[] {
  const options = app.get<string, ThrottlerModuleOptions>(getOptionsToken(), { strict: false });
  const throttlers = Array.isArray(options) ? options : options.throttlers;
  const suffixes = throttlers.map(({ name }) => (name === undefined || name === 'default' ? '' : `-${name}`));
  const rateLimit = suffixes.flatMap((suffix) => ['Limit', 'Remaining', 'Reset'].map((field) => `X-RateLimit-${field}${suffix}`));
  return ['X-Correlation-ID', 'Retry-After', 'WWW-Authenticate', 'Allow', ...rateLimit];
}
