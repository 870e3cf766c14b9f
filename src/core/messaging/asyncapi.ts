import type { INestApplication, Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, getSchemaPath, type ReferenceObject, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';

import { messagingCatalog } from '../../asyncapi.catalog.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CORRELATION_HEADER } from '../logging/correlation-id.js';
import { ATTEMPT_HEADER } from './service-queue-server.js';

/**
 * The AsyncAPI 3 document of a service on Nest's RMQ transport, built from a
 * catalog of its events and message patterns and the very classes its code
 * validates and returns: their schemas come from @nestjs/swagger's own
 * machinery (the one /docs-json uses) plus the class-validator constraints
 * the decorators leave out, so the document cannot drift from the code.
 *
 * The layout it describes is the one of this service: events published to
 * one topic exchange (routing key = event name), requests and inbound events
 * on one durable queue, replies to the requester's reply_to queue, and
 * messages that kept failing in a dead-letter queue.
 */

export const ASYNCAPI_PATH = '/asyncapi.json';
const AMQP_BINDING_VERSION = '0.3.0';

type Model = Type<unknown>;
/** A JSON Schema (draft-07, as AsyncAPI 3's default schema format reads it). */
export type JsonSchema = { [keyword: string]: unknown };

/** What a pattern answers: one model, a model or null, a list of a model, or one of several models. */
export type ReplyShape = Model | { nullable: Model } | { arrayOf: Model } | { oneOf: Model[] };

export interface CatalogEvent {
  /** The event name: Nest's pattern and, for published events, the routing key. */
  name: string;
  /** The data beyond the envelope (published events) or the whole data (consumed events). */
  data: Model;
  summary: string;
  description?: string;
}

export interface CatalogPattern {
  name: string;
  request: Model;
  reply: ReplyShape;
  summary: string;
  description?: string;
}

export interface MessagingCatalog {
  title: string;
  version: string;
  description: string;
  server: { host: string; protocol: 'amqp'; protocolVersion: string; description: string };
  /** Durable topic exchange the service publishes its events to. */
  eventsExchange: string;
  /** Durable queue the service serves its patterns and consumed events on. */
  serviceQueue: string;
  /** Durable queue of the messages the service could not handle. */
  deadLetterQueue: string;
  /** The fields the publisher adds to every published event's data. */
  envelope: Model;
  /** What a failed request is answered with. */
  errorReply: Model;
  /** Whether fields the inbound classes do not declare are refused (a ValidationPipe with forbidNonWhitelisted). */
  rejectsUnknownFields: boolean;
  published: CatalogEvent[];
  consumed: CatalogEvent[];
  patterns: CatalogPattern[];
}

// ---------------------------------------------------------------------------
// OpenAPI 3.0 schemas → JSON Schema

const SUBSCHEMA_LISTS = ['allOf', 'oneOf', 'anyOf'] as const;
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'externalDocs'];

/**
 * One OpenAPI 3.0 schema (what @nestjs/swagger makes) as the JSON Schema
 * AsyncAPI 3 reads: `nullable` becomes a `null` type (or a `oneOf` with null
 * where there is no type to extend), `example` becomes `examples`, boolean
 * exclusive bounds become numeric ones, a discriminator object its property
 * name. `$ref`s keep their `#/components/schemas/...` targets, which mean
 * the same in an AsyncAPI document.
 */
export function toJsonSchema(source: SchemaObject | ReferenceObject): JsonSchema {
  if ('$ref' in source) return { $ref: source.$ref };
  const { nullable, example, examples, exclusiveMaximum, exclusiveMinimum, discriminator, xml: _xml, ...rest } = source;
  const schema: JsonSchema = { ...rest };

  if (rest.properties) schema.properties = mapValues(rest.properties, toJsonSchema);
  if (rest.items) schema.items = toJsonSchema(rest.items);
  if (rest.not) schema.not = toJsonSchema(rest.not);
  if (typeof rest.additionalProperties === 'object') schema.additionalProperties = toJsonSchema(rest.additionalProperties);
  if (rest.patternProperties && typeof rest.patternProperties === 'object') {
    schema.patternProperties = mapValues(rest.patternProperties as Record<string, SchemaObject>, toJsonSchema);
  }
  for (const keyword of SUBSCHEMA_LISTS) {
    if (rest[keyword]) schema[keyword] = rest[keyword].map(toJsonSchema);
  }

  if (Array.isArray(examples)) schema.examples = examples;
  else if (examples && typeof examples === 'object') {
    // OpenAPI's named examples ({ name: { value } }): JSON Schema keeps the values.
    schema.examples = Object.values(examples).map((entry) => (entry && typeof entry === 'object' && 'value' in entry ? entry.value : entry));
  } else if (example !== undefined) schema.examples = [example];

  if (exclusiveMaximum === true && rest.maximum !== undefined) {
    schema.exclusiveMaximum = rest.maximum;
    delete schema.maximum;
  }
  if (exclusiveMinimum === true && rest.minimum !== undefined) {
    schema.exclusiveMinimum = rest.minimum;
    delete schema.minimum;
  }
  if (discriminator) schema.discriminator = discriminator.propertyName;

  return nullable ? orNull(schema) : schema;
}

/** A schema that also admits null, as close to the original's shape as JSON Schema allows. */
function orNull(schema: JsonSchema): JsonSchema {
  const { type } = schema;
  if (typeof type === 'string' || Array.isArray(type)) {
    const types = [type].flat() as string[];
    const widened: JsonSchema = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
    // An enum not listing null would still refuse it, whatever the type says.
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) widened.enum = [...schema.enum, null];
    return widened;
  }
  const outer: JsonSchema = {};
  const inner: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) (ANNOTATIONS.includes(keyword) ? outer : inner)[keyword] = value;
  return { ...outer, oneOf: [inner, { type: 'null' }] };
}

// ---------------------------------------------------------------------------
// class-validator constraints the @ApiProperty options left out

type ConstraintToKeywords = (constraints: unknown[]) => JsonSchema | undefined;

/** Validators with a JSON Schema equivalent, by class-validator's name for them; what they say for one value. */
const CONSTRAINT_KEYWORDS: Record<string, { applies: 'string' | 'array' | 'any'; keywords: ConstraintToKeywords }> = {
  minLength: { applies: 'string', keywords: ([min]) => ({ minLength: min }) },
  maxLength: { applies: 'string', keywords: ([max]) => ({ maxLength: max }) },
  // A pattern with flags (i, m, …) has no JSON Schema spelling: left out rather than misstated.
  matches: { applies: 'string', keywords: ([pattern, modifiers]) => (pattern instanceof RegExp && !pattern.flags && !modifiers ? { pattern: pattern.source } : undefined) },
  isUuid: { applies: 'string', keywords: () => ({ format: 'uuid' }) },
  isIn: { applies: 'any', keywords: ([values]) => (Array.isArray(values) ? { enum: values } : undefined) },
  arrayMinSize: { applies: 'array', keywords: ([min]) => ({ minItems: min }) },
  arrayMaxSize: { applies: 'array', keywords: ([max]) => ({ maxItems: max }) },
};

/**
 * Adds to a model's JSON Schema what its class-validator decorators enforce
 * and its @ApiProperty options do not say (a MaxLength with no maxLength),
 * so the document states what the service actually rejects. What the
 * @ApiProperty options say is kept as is.
 */
export function withValidationConstraints(schema: JsonSchema, model: Model): JsonSchema {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return schema;
  const enriched = mapValues(properties, (property) => ({ ...property }));
  for (const metadata of getMetadataStorage().getTargetValidationMetadatas(model, '', true, false)) {
    const rule = metadata.name ? CONSTRAINT_KEYWORDS[metadata.name] : undefined;
    const property = enriched[metadata.propertyName];
    if (!rule || !property) continue;
    const target = metadata.each ? (property.items as JsonSchema | undefined) : property;
    const keywords = rule.keywords(metadata.constraints ?? []);
    if (!target || !keywords || (rule.applies !== 'any' && !hasType(target, rule.applies))) continue;
    if (metadata.each) property.items = { ...target };
    const into = (metadata.each ? property.items : property) as JsonSchema;
    for (const [keyword, value] of Object.entries(keywords)) into[keyword] ??= value;
  }
  return { ...schema, properties: enriched };
}

const hasType = (schema: JsonSchema, type: string) => schema.type === type || (Array.isArray(schema.type) && schema.type.includes(type));

// ---------------------------------------------------------------------------
// The document

/** No module of the app is this class: a scan restricted to it meets no HTTP controller. */
class NoControllers {}

/** The JSON Schemas of the models (and of the models they nest), as named in #/components/schemas. */
export function modelSchemas(app: INestApplication, models: Model[]): Record<string, JsonSchema> {
  // `include` restricts the scan of HTTP routes to the modules listed: none here, so the
  // schemas are those of the models alone, not those of the HTTP API.
  const document = SwaggerModule.createDocument(app, new DocumentBuilder().build(), { include: [NoControllers], extraModels: models });
  const schemas = mapValues(document.components?.schemas ?? {}, toJsonSchema);
  for (const model of models) {
    const name = schemaName(model);
    if (schemas[name]) schemas[name] = withValidationConstraints(schemas[name], model);
  }
  return schemas;
}

const schemaName = (model: Model) => getSchemaPath(model).replace('#/components/schemas/', '');
const ref = (model: Model): JsonSchema => ({ $ref: getSchemaPath(model) });

function replySchema(shape: ReplyShape): JsonSchema {
  if (typeof shape === 'function') return ref(shape);
  if ('nullable' in shape) return { oneOf: [ref(shape.nullable), { type: 'null' }] };
  if ('arrayOf' in shape) return { type: 'array', items: ref(shape.arrayOf) };
  return { oneOf: shape.oneOf.map(ref) };
}

function replyModels(shape: ReplyShape): Model[] {
  if (typeof shape === 'function') return [shape];
  if ('nullable' in shape) return [shape.nullable];
  if ('arrayOf' in shape) return [shape.arrayOf];
  return shape.oneOf;
}

/** 'users.get_many' → 'usersGetMany': AsyncAPI ids are safest as plain words. */
export function identifier(name: string): string {
  return name.replace(/[^A-Za-z0-9]+([A-Za-z0-9])/g, (_, next: string) => next.toUpperCase()).replace(/[^A-Za-z0-9]/g, '');
}

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const patternSchema = (name: string): JsonSchema => ({ type: 'string', const: name, description: "Nest's pattern" });

const SCHEMA = {
  inboundHeaders: 'InboundMessageHeaders',
  eventHeaders: 'PublishedEventHeaders',
  deadLetterHeaders: 'DeadLetterHeaders',
} as const;

function headerSchemas(): Record<string, JsonSchema> {
  const correlation = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', examples: ['0f8fad5b-d9cb-469f-a165-70867728950e'] };
  return {
    [SCHEMA.inboundHeaders]: {
      type: 'object',
      description: 'AMQP application headers the service reads.',
      properties: {
        [CORRELATION_HEADER]: {
          ...correlation,
          description:
            "Optional: the caller's correlation id, carried into the service's logs, error replies and the events the message causes. " +
            'A missing or malformed one is replaced by a new UUID.',
        },
      },
    },
    [SCHEMA.eventHeaders]: {
      type: 'object',
      description: 'AMQP application headers of a published event.',
      properties: {
        [CORRELATION_HEADER]: { ...correlation, description: "The event's data.correlationId; absent when that is null." },
      },
    },
    [SCHEMA.deadLetterHeaders]: {
      type: 'object',
      description: "The original message's headers, plus what the service adds when it gives up on the message.",
      required: ['x-death-reason', 'x-original-pattern', 'x-original-queue', 'x-attempts', 'x-first-failed-at', 'x-dead-lettered-at'],
      properties: {
        'x-death-reason': { type: 'string', maxLength: 500, description: 'Why: the error, or "no handler for the pattern …", or "not a Nest RMQ message …"' },
        'x-original-pattern': { type: ['string', 'null'], description: 'The pattern the message named (null when it was not a Nest message)' },
        'x-original-queue': { type: 'string', description: 'The queue it was consumed from' },
        'x-attempts': { type: 'integer', minimum: 1, description: 'Handler runs it got' },
        'x-first-failed-at': { type: 'string', format: 'date-time', description: 'When it failed first' },
        'x-dead-lettered-at': { type: 'string', format: 'date-time' },
        'x-field-errors': { type: 'string', maxLength: 500, description: 'The field problems (JSON, cut at 500 characters), when validation failed' },
        'x-last-error': { type: 'string', maxLength: 500, description: 'The error of the last retry, when it was retried' },
        [ATTEMPT_HEADER]: { type: 'integer', minimum: 2, description: 'The attempt its last retry was (present when it was retried)' },
        [CORRELATION_HEADER]: { type: 'string', description: "The sender's correlation id, when it gave one" },
      },
    },
  };
}

const channelRef = (channel: string) => ({ $ref: `#/channels/${channel}` });
const channelMessageRef = (channel: string, message: string) => ({ $ref: `#/channels/${channel}/messages/${message}` });
const componentMessageRef = (message: string) => ({ $ref: `#/components/messages/${message}` });

function wireFormat(catalog: MessagingCatalog): string {
  return [
    "## Wire format (Nest's RMQ transport)",
    '',
    'Every body is JSON (`application/json`).',
    '',
    `- **Events** the service publishes go to the durable topic exchange \`${catalog.eventsExchange}\` with the event name as ` +
      "routing key, as `{ \"pattern\": \"<event name>\", \"data\": { ... } }`, persistent, with the AMQP message-id set to `data.eventId`. " +
      `Every \`data\` starts with the envelope (\`eventId\`, \`occurredAt\`, \`correlationId\`). Bind a queue of your own and use ` +
      "`@EventPattern('<event name>')`. Delivery is at-least-once: de-duplicate by `eventId`.",
    `- **Requests** (\`ClientProxy.send\`) go to the durable queue \`${catalog.serviceQueue}\` as ` +
      '`{ "pattern": "<pattern>", "data": { ... }, "id": "<uuid>" }` with the AMQP properties `reply_to` (the queue to answer to) ' +
      'and `correlation_id` (= `id`). The reply goes to `reply_to`, with the same `correlation_id`, as ' +
      '`{ "id", "response": <reply>, "isDisposed": true }`, or `{ "id", "err": <error reply>, "isDisposed": true }` when the request ' +
      'cannot be answered (invalid data, unknown pattern, internal failure), which makes `send()` fail with `err`.',
    `- **Inbound events** (\`ClientProxy.emit\` to \`${catalog.serviceQueue}\`) are \`{ "pattern", "data" }\` with no reply.`,
    ...(catalog.rejectsUnknownFields ? ['- The `data` of a request or inbound event may hold only the fields documented for it: others are refused (`VALIDATION_FAILED`).'] : []),
    `- An optional \`${CORRELATION_HEADER}\` header on requests and inbound events carries the caller's correlation id.`,
    `- A message whose handler keeps failing is retried with back-off (through delay queues \`${catalog.serviceQueue}.retry.<ms>ms\`), ` +
      `then dead-lettered, as are invalid events and messages without a handler: they go, unchanged, to the queue ` +
      `\`${catalog.deadLetterQueue}\` with the reason in their headers. Nothing is dropped silently.`,
  ].join('\n');
}

/** The AsyncAPI 3.0.0 document of the catalog, with the schemas of its classes as the app's swagger metadata gives them. */
export function buildAsyncApiDocument(app: INestApplication, catalog: MessagingCatalog): JsonSchema {
  const models = [
    catalog.envelope,
    catalog.errorReply,
    ...catalog.published.map((event) => event.data),
    ...catalog.consumed.map((event) => event.data),
    ...catalog.patterns.flatMap((pattern) => [pattern.request, ...replyModels(pattern.reply)]),
  ];
  const schemas = { ...modelSchemas(app, [...new Set(models)]), ...headerSchemas() };
  if (catalog.rejectsUnknownFields) {
    for (const model of [...catalog.consumed.map((event) => event.data), ...catalog.patterns.map((pattern) => pattern.request)]) {
      const schema = schemas[schemaName(model)];
      if (schema?.properties) schema.additionalProperties ??= false;
    }
  }

  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const messages: Record<string, JsonSchema> = {};
  const exchange = { name: catalog.eventsExchange, type: 'topic', durable: true, autoDelete: false };
  const durableQueue = (name: string) => ({
    amqp: { is: 'queue', queue: { name, durable: true, exclusive: false, autoDelete: false }, bindingVersion: AMQP_BINDING_VERSION },
  });
  const message = (id: string, body: JsonSchema, headers?: string) => {
    messages[id] = { contentType: 'application/json', ...(headers ? { headers: { $ref: `#/components/schemas/${headers}` } } : {}), ...body };
  };

  // Published events: a channel per routing key on the exchange.
  for (const event of catalog.published) {
    const id = identifier(event.name);
    message(
      id,
      {
        name: event.name,
        title: event.name,
        summary: event.summary,
        ...(event.description ? { description: event.description } : {}),
        correlationId: { description: 'The correlation id of what caused the event', location: '$message.payload#/data/correlationId' },
        payload: {
          type: 'object',
          required: ['pattern', 'data'],
          properties: { pattern: patternSchema(event.name), data: { allOf: [ref(catalog.envelope), ref(event.data)] } },
        },
      },
      SCHEMA.eventHeaders,
    );
    channels[id] = {
      address: event.name,
      title: event.name,
      description: `Routing key \`${event.name}\` on the topic exchange \`${catalog.eventsExchange}\`.`,
      messages: { [id]: componentMessageRef(id) },
      bindings: { amqp: { is: 'routingKey', exchange, bindingVersion: AMQP_BINDING_VERSION } },
    };
    operations[`publish${capitalized(id)}`] = {
      action: 'send',
      title: `Publish ${event.name}`,
      summary: event.summary,
      channel: channelRef(id),
      messages: [channelMessageRef(id, id)],
      bindings: { amqp: { deliveryMode: 2, timestamp: true, bindingVersion: AMQP_BINDING_VERSION } },
    };
  }

  // The service queue: requests and inbound events; replies to the requester's reply_to.
  const queueId = 'serviceQueue';
  const repliesId = 'replies';
  const errorReplyId = 'errorReply';
  const queueMessages: Record<string, JsonSchema> = {};
  const replyMessages: Record<string, JsonSchema> = {};
  const requestIdSchema = {
    type: 'string',
    description: "Nest's request id (a UUID), also the AMQP correlation_id; the reply carries it back",
    examples: ['c9a0b7f2-3d41-4e5a-8b6c-7d8e9f0a1b2c'],
  };
  const replyCorrelation = { description: 'The request id (also the AMQP correlation_id)', location: '$message.payload#/id' };

  message(errorReplyId, {
    name: 'error reply',
    title: 'Error reply',
    summary: 'The answer to a request that could not be answered: the caller\'s send() fails with `err`.',
    correlationId: replyCorrelation,
    payload: {
      type: 'object',
      required: ['id', 'err', 'isDisposed'],
      properties: { id: requestIdSchema, err: ref(catalog.errorReply), isDisposed: { type: 'boolean', const: true } },
    },
  });
  replyMessages[errorReplyId] = componentMessageRef(errorReplyId);

  for (const pattern of catalog.patterns) {
    const id = identifier(pattern.name);
    const requestId = `${id}Request`;
    const replyId = `${id}Reply`;
    message(
      requestId,
      {
        name: pattern.name,
        title: `${pattern.name} request`,
        summary: pattern.summary,
        ...(pattern.description ? { description: pattern.description } : {}),
        correlationId: replyCorrelation,
        payload: {
          type: 'object',
          required: ['pattern', 'data', 'id'],
          properties: { pattern: patternSchema(pattern.name), data: ref(pattern.request), id: requestIdSchema },
        },
      },
      SCHEMA.inboundHeaders,
    );
    message(replyId, {
      name: `${pattern.name} reply`,
      title: `${pattern.name} reply`,
      summary: `What ${pattern.name} answers, sent to the request's reply_to queue.`,
      correlationId: replyCorrelation,
      payload: {
        type: 'object',
        required: ['id', 'response', 'isDisposed'],
        properties: { id: requestIdSchema, response: replySchema(pattern.reply), isDisposed: { type: 'boolean', const: true } },
      },
    });
    queueMessages[requestId] = componentMessageRef(requestId);
    replyMessages[replyId] = componentMessageRef(replyId);
    operations[id] = {
      action: 'receive',
      title: pattern.name,
      summary: pattern.summary,
      channel: channelRef(queueId),
      messages: [channelMessageRef(queueId, requestId)],
      reply: { channel: channelRef(repliesId), messages: [channelMessageRef(repliesId, replyId), channelMessageRef(repliesId, errorReplyId)] },
      bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
    };
  }

  for (const event of catalog.consumed) {
    const id = identifier(event.name);
    message(
      id,
      {
        name: event.name,
        title: event.name,
        summary: event.summary,
        ...(event.description ? { description: event.description } : {}),
        payload: { type: 'object', required: ['pattern', 'data'], properties: { pattern: patternSchema(event.name), data: ref(event.data) } },
      },
      SCHEMA.inboundHeaders,
    );
    queueMessages[id] = componentMessageRef(id);
    operations[`receive${capitalized(id)}`] = {
      action: 'receive',
      title: `Receive ${event.name}`,
      summary: event.summary,
      channel: channelRef(queueId),
      messages: [channelMessageRef(queueId, id)],
      bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } },
    };
  }

  channels[queueId] = {
    address: catalog.serviceQueue,
    title: catalog.serviceQueue,
    description:
      `The service's durable queue: requests (\`ClientProxy.send\`) and inbound events (\`ClientProxy.emit\`). ` +
      'Declare it as just `{ durable: true }`: other arguments would not match the service\'s declaration (RabbitMQ answers 406). ' +
      'A message is acknowledged once handled; a failing one is retried with back-off, then dead-lettered.',
    messages: queueMessages,
    bindings: durableQueue(catalog.serviceQueue),
  };
  channels[repliesId] = {
    // Dynamic: whatever queue the request's reply_to names (Nest's default: RabbitMQ's direct reply-to, amq.rabbitmq.reply-to).
    address: null,
    title: 'reply_to',
    description:
      "The queue the request's AMQP `reply_to` property names (Nest's ClientRMQ: `amq.rabbitmq.reply-to` unless configured otherwise). " +
      "The reply's AMQP `correlation_id` is the request's.",
    messages: replyMessages,
  };

  const deadLetterId = 'deadLetter';
  message(
    deadLetterId,
    {
      name: 'dead letter',
      title: 'Dead letter',
      summary: 'A message the service gave up on, byte for byte as it was sent, with the reason in its headers.',
      payload: {
        description: `The original body, unchanged: usually one of the messages of \`${catalog.serviceQueue}\`, but anything that was sent there (even not JSON).`,
      },
    },
    SCHEMA.deadLetterHeaders,
  );
  channels[deadLetterId] = {
    address: catalog.deadLetterQueue,
    title: catalog.deadLetterQueue,
    description:
      `Messages of \`${catalog.serviceQueue}\` that kept failing (after the retries), failed validation as events, named no known pattern, ` +
      "or were not Nest messages. They keep their AMQP properties; read the reason in the headers, fix, and re-publish to the service queue if need be.",
    messages: { [deadLetterId]: componentMessageRef(deadLetterId) },
    bindings: durableQueue(catalog.deadLetterQueue),
  };
  operations.deadLetter = {
    action: 'send',
    title: 'Dead-letter a message',
    summary: 'Moves a message the service cannot handle to the dead-letter queue (confirmed by the broker before the original is acknowledged).',
    channel: channelRef(deadLetterId),
    messages: [channelMessageRef(deadLetterId, deadLetterId)],
    bindings: { amqp: { deliveryMode: 2, bindingVersion: AMQP_BINDING_VERSION } },
  };

  return {
    asyncapi: '3.0.0',
    info: { title: catalog.title, version: catalog.version, description: `${catalog.description}\n\n${wireFormat(catalog)}` },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: {
        host: catalog.server.host,
        protocol: catalog.server.protocol,
        protocolVersion: catalog.server.protocolVersion,
        description: catalog.server.description,
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}

/** Serves the service's AsyncAPI document at GET /asyncapi.json (unversioned, beside /docs-json), built once at start. */
export function setupAsyncApi(app: NestFastifyApplication): void {
  const config = app.get<AppConfig>(APP_CONFIG);
  const body = JSON.stringify(buildAsyncApiDocument(app, messagingCatalog(config.messaging)));
  app
    .getHttpAdapter()
    .getInstance()
    .get(ASYNCAPI_PATH, (_request, reply) => {
      void reply.type('application/json; charset=utf-8').send(body);
    });
}

function mapValues<T, R>(record: Record<string, T>, map: (value: T) => R): Record<string, R> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
