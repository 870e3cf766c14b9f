import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { PROBLEM_CONTENT_TYPE, ProblemDetails } from '../errors/problem-details.js';

type Operation = { responses?: Record<string, { description?: string; content?: Record<string, unknown> }> };

const COMMON_ERRORS: Record<string, string> = {
  '413': 'The body is larger than BODY_LIMIT_BYTES (PAYLOAD_TOO_LARGE).',
  '500': 'Unexpected failure (INTERNAL_ERROR); the body never holds internal details.',
};

const problemExample = (status: string, code: string, description?: string) => ({
  type: `urn:problem:user-service:${code.toLowerCase().replace(/_/g, '-')}`,
  title: status,
  status: Number(status),
  detail: description ?? '',
  code,
  correlationId: '0f8fad5b-d9cb-469f-a165-70867728950e',
});

/** One example per stable code the description names (several codes share a status: 409 EMAIL_TAKEN, IDEMPOTENCY_KEY_REUSED). */
function problemContent(status: string, description?: string) {
  const schema = { $ref: '#/components/schemas/ProblemDetails' };
  const codes = [...new Set(description?.match(/\b[A-Z][A-Z_]{3,}\b/g) ?? ['INTERNAL_ERROR'])];
  if (codes.length === 1) return { schema, example: problemExample(status, codes[0]!, description) };
  return { schema, examples: Object.fromEntries(codes.map((code) => [code, { value: problemExample(status, code, description) }])) };
}

/**
 * Error responses are problem+json, with an example each, on every operation
 * (generated clients read the content type from here).
 */
function describeErrors(document: OpenAPIObject): void {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as Operation[]) {
      if (!operation?.responses) continue;
      for (const [status, description] of Object.entries(COMMON_ERRORS)) {
        operation.responses[status] ??= { description };
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        response.content = { [PROBLEM_CONTENT_TYPE]: problemContent(status, response.description) };
      }
    }
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('User service')
    .setDescription(
      'Accounts, sign-in, sessions, profiles and their administration. Errors are RFC 9457 problem details with a stable `code`. ' +
        'Access tokens are RS256 JWTs; verify them with /.well-known/jwks.json. ' +
        'The events, message patterns and notification gating over RabbitMQ are described in [/asyncapi.json](/asyncapi.json) (AsyncAPI 3).',
    )
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
