import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { bearerChallenge } from '../auth/bearer-challenge.js';
import { JWT_ALGORITHM } from '../auth/signing-keys.js';
import { ERROR_CATALOG, ErrorCode, isErrorCode, problemTitle, problemType } from '../errors/error-codes.js';
import { PROBLEM_CONTENT_TYPE, ProblemDetails } from '../errors/problem-details.js';

type MediaType = { schema?: { $ref?: string }; example?: unknown; examples?: Record<string, { value: unknown }> };
type Response = { description?: string; content?: Record<string, MediaType>; headers?: Record<string, unknown> };
type Operation = { responses?: Record<string, Response>; security?: Record<string, string[]>[] };

const PROBLEM_SCHEMA = '#/components/schemas/ProblemDetails';

/** What any operation may answer, whatever its route. */
const COMMON_ERRORS: Record<string, string> = {
  '500': 'Unexpected failure (INTERNAL_ERROR); the body never holds internal details.',
};

/** What an operation of a method that reads a body may answer, body or not (the body policy runs before the route). */
const BODY_ERRORS: Record<string, string> = {
  '400': 'The body is not readable JSON (MALFORMED_REQUEST).',
  '413': 'The body is larger than the limit, BODY_LIMIT_BYTES (PAYLOAD_TOO_LARGE).',
  '415': 'The body is not JSON: only application/json and +json types are read (UNSUPPORTED_MEDIA_TYPE).',
};
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** The code of a response whose description names none: the one the error filter gives a bare status. */
const CODE_BY_STATUS: Record<string, ErrorCode> = {
  '401': ErrorCode.UNAUTHENTICATED,
  '403': ErrorCode.FORBIDDEN,
  '404': ErrorCode.NOT_FOUND,
  '500': ErrorCode.INTERNAL_ERROR,
  '503': ErrorCode.SERVICE_UNAVAILABLE,
};

/** An example field problem, as validation words them. */
const FIELD_ERRORS_EXAMPLE = [{ field: 'email', message: 'is required' }];

/** The body the service answers with for this code: type, title and status as the error filter renders them. */
export function problemExample(code: ErrorCode) {
  const { status, detail } = ERROR_CATALOG[code];
  return {
    type: problemType(code),
    title: problemTitle(status),
    status,
    detail,
    code,
    correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    ...(code === ErrorCode.VALIDATION_FAILED ? { errors: FIELD_ERRORS_EXAMPLE } : {}),
  };
}

/**
 * The codes a response documents: the error codes its description names (in
 * words such as "EMAIL_TAKEN, or IDEMPOTENCY_KEY_REUSED"; other capitals,
 * like BODY_LIMIT_BYTES, are not codes), else the one of its bare status.
 * A code the service never answers with this status is a mistake in a
 * decorator, and fails the document (the OpenAPI e2e test builds it).
 */
function codesOf(where: string, status: string, description = ''): ErrorCode[] {
  const named = [...new Set(description.match(/\b[A-Z][A-Z_]{3,}\b/g) ?? [])].filter(isErrorCode);
  const codes = named.length > 0 ? named : CODE_BY_STATUS[status] ? [CODE_BY_STATUS[status]] : [];
  if (codes.length === 0) throw new Error(`OpenAPI: ${where} ${status} names no error code`);
  for (const code of codes) {
    if (String(ERROR_CATALOG[code].status) !== status) {
      throw new Error(`OpenAPI: ${where} documents ${code} as a ${status}, but the service answers it with ${ERROR_CATALOG[code].status}`);
    }
  }
  return codes;
}

function problemContent(codes: ErrorCode[]): MediaType {
  const schema = { $ref: PROBLEM_SCHEMA };
  if (codes.length === 1) return { schema, example: problemExample(codes[0]!) };
  return { schema, examples: Object.fromEntries(codes.map((code) => [code, { value: problemExample(code) }])) };
}

/** Whether a response is (to be) a problem: no content of its own, or the ProblemDetails schema (readiness's 503 is terminus's body). */
function isProblem(response: Response): boolean {
  const media = Object.values(response.content ?? {});
  return media.length === 0 || media.every((type) => type.schema?.$ref === PROBLEM_SCHEMA);
}

/** How the WWW-Authenticate header of a Bearer route's 401, or its 403 for a role, is documented. */
function challengeDoc(status: string, codes: ErrorCode[], description = '') {
  if (status === '401' && codes.includes(ErrorCode.UNAUTHENTICATED)) {
    return {
      description: 'The Bearer challenge (RFC 6750), with error="invalid_token" and a short error_description when a token was sent and refused',
      schema: { type: 'string', example: bearerChallenge({ error: 'invalid_token', description: 'The access token expired' }) },
    };
  }
  if (status === '403' && codes.includes(ErrorCode.FORBIDDEN) && /\brole\b/.test(description)) {
    return {
      description: 'For a Bearer token without the role the route requires: error="insufficient_scope"',
      schema: { type: 'string', example: bearerChallenge({ error: 'insufficient_scope' }) },
    };
  }
  return undefined;
}

/**
 * Error responses are problem+json, with an example body per code built from
 * ERROR_CATALOG, the vocabulary the error filter answers with (generated
 * clients read the content type from here); a 401 of a Bearer route
 * documents its WWW-Authenticate challenge.
 */
function describeErrors(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as [string, Operation][]) {
      if (!operation?.responses) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const added = { ...COMMON_ERRORS, ...(BODY_METHODS.has(method) ? BODY_ERRORS : {}) };
      for (const [status, description] of Object.entries(added)) {
        const response = operation.responses[status];
        if (!response) operation.responses[status] = { description };
        else if (!response.description?.includes(description)) response.description = `${response.description ?? ''} Or: ${description}`.trim();
      }
      const bearer = operation.security?.some((requirement) => 'bearer' in requirement) ?? false;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || !isProblem(response)) continue;
        const codes = codesOf(where, status, response.description);
        response.content = { [PROBLEM_CONTENT_TYPE]: problemContent(codes) };
        const challenge = bearer && challengeDoc(status, codes, response.description);
        if (challenge) response.headers = { ...response.headers, 'WWW-Authenticate': challenge };
      }
    }
  }
}

/** What the service does, as it is: each paragraph true of the routes below. */
const DESCRIPTION = [
  'The user service: accounts (registration, email verification, password reset), sign-in, token refresh and sessions, ' +
    'profiles and notification preferences, for their owners. Under `/admin`, for users with the role `admin`: finding and ' +
    'creating users, changing their status and role, ending their sessions, statistics, the audit log and service API keys.',
  'Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`; each error response below shows ' +
    'the body the service answers with. A 401 of a Bearer route carries a `WWW-Authenticate: Bearer` challenge; a path ' +
    'called with a method it does not take answers 405 with `Allow`.',
  `Access tokens are ${JWT_ALGORITHM} JWTs; verify them with /.well-known/jwks.json. Services call the routes that list ` +
    'the `apiKey` scheme with an `X-API-Key` instead.',
  'The events, message patterns and notification gating over RabbitMQ are described in [/asyncapi.json](/asyncapi.json) (AsyncAPI 3).',
].join('\n\n');

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('User service')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'A service API key (usk_…), created by an admin; accepted only on the routes that list this scheme.',
      },
      'apiKey',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDetails] });
  describeErrors(document);
  return document;
}

export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
}
