import type { Operation, Schema } from './openapi.js';
import type { Credential } from './principals.js';

/**
 * Whether the document allows a request: the only requests that may be
 * answered 2xx. Deliberately lenient wherever the service may normalize
 * first (trimming, case, how a length is counted), so a 2xx it reports is a
 * real disagreement between the document (or the contract) and the service.
 */

/** What was sent, decoded as the service would see it. */
export interface SentRequest {
  /** The credential presented, after fallbacks (no seeded API key: an unknown one). */
  credential: Credential;
  /** Decoded path parameters; undefined when the segment does not decode. */
  pathValues: Record<string, string | undefined>;
  /** The path is not the documented one (a suffix or extra segment). */
  offRoute: boolean;
  /** Query parameters as the service parses them. */
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string>;
  body: { present: false } | { present: true; json: false } | { present: true; json: true; parsed: true; value: unknown } | { present: true; json: true; parsed: false };
}

export const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lengths as JSON Schema (code points), UTF-16 and class-validator (surrogate pairs and variation selectors as one) count them. */
function lengths(s: string): number[] {
  const codePoints = [...s].length;
  const validatorJs = s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0) - (s.match(/\uFE0F|\uFE0E/g)?.length ?? 0);
  return [codePoints, s.length, validatorJs];
}

function stringViolation(value: string, schema: Schema): string | undefined {
  // Either as sent or trimmed (the service trims names, reasons and emails before it checks them).
  const candidates = [value, value.trim()];
  const fits = (s: string) =>
    lengths(s).some((n) => n >= (schema.minLength ?? 0) && n <= (schema.maxLength ?? Infinity)) &&
    (!schema.pattern || new RegExp(schema.pattern, 'u').test(s)) &&
    formatFits(s, schema.format);
  return candidates.some(fits) ? undefined : `does not fit ${JSON.stringify({ ...schema, example: undefined, description: undefined })}`;
}

function formatFits(s: string, format: string | undefined): boolean {
  switch (format) {
    case 'uuid':
      return UUID.test(s);
    case 'email':
      return /^.+@.+$/s.test(s);
    case 'date-time':
      return !Number.isNaN(Date.parse(s));
    default:
      return true;
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The first way a JSON value breaks the schema, or undefined. Unknown object fields count (the contract rejects them). */
export function valueViolation(value: unknown, schema: Schema, at: string): string | undefined {
  if (value === null) return schema.nullable || schema.type === undefined ? undefined : `${at}: null`;
  // No constraint at all: anything, and nothing to descend into (a deeply nested value stays unwalked).
  if (!schema.type && !schema.enum && !schema.properties && !schema.items) return undefined;
  if (schema.enum && !schema.enum.some((allowed) => allowed === value)) return `${at}: not one of ${JSON.stringify(schema.enum)}`;
  const actual = typeOf(value);
  const expected = schema.type;
  if (expected && !(expected === actual || (expected === 'number' && actual === 'integer'))) return `${at}: ${actual}, not ${expected}`;
  switch (actual) {
    case 'string':
      return stringViolation(value as string, schema) && `${at}: ${stringViolation(value as string, schema)}`;
    case 'integer':
    case 'number': {
      const n = value as number;
      if (!Number.isFinite(n)) return `${at}: not finite`;
      if (schema.minimum !== undefined && n < schema.minimum) return `${at}: below ${schema.minimum}`;
      if (schema.maximum !== undefined && n > schema.maximum) return `${at}: above ${schema.maximum}`;
      return undefined;
    }
    case 'array': {
      const items = value as unknown[];
      if (schema.minItems !== undefined && items.length < schema.minItems) return `${at}: fewer than ${schema.minItems} items`;
      if (schema.maxItems !== undefined && items.length > schema.maxItems) return `${at}: more than ${schema.maxItems} items`;
      if (schema.uniqueItems && new Set(items.map((item) => JSON.stringify(item))).size !== items.length) return `${at}: repeated items`;
      for (const [index, item] of items.entries()) {
        const problem = valueViolation(item, schema.items ?? {}, `${at}[${index}]`);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'object': {
      const object = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!Object.hasOwn(object, key)) return `${at}.${key}: missing`;
      const properties = schema.properties;
      for (const [key, item] of Object.entries(object)) {
        const property = properties?.[key];
        if (property) {
          const problem = valueViolation(item, property, `${at}.${key}`);
          if (problem) return problem;
        } else if (properties && schema.additionalProperties !== true) {
          if (typeof schema.additionalProperties === 'object') {
            const problem = valueViolation(item, schema.additionalProperties, `${at}.${key}`);
            if (problem) return problem;
          } else return `${at}.${JSON.stringify(key)}: unknown field`;
        }
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** A query or path parameter: text, read as the schema's type. */
function textViolation(text: string, schema: Schema, at: string): string | undefined {
  switch (schema.type) {
    case 'integer':
    case 'number': {
      if (!/^-?\d+(?:\.\d+)?$/.test(text)) return `${at}: ${JSON.stringify(text.slice(0, 40))} is not a number`;
      return valueViolation(Number(text), { ...schema, type: 'number' }, at) ?? (schema.type === 'integer' && !Number.isInteger(Number(text)) ? `${at}: not an integer` : undefined);
    }
    case 'boolean':
      return text === 'true' || text === 'false' ? undefined : `${at}: not a boolean`;
    default:
      return valueViolation(text, schema, at);
  }
}

/** Why the document (or the contract) does not allow this request, or undefined when it does. */
export function requestViolation(operation: Operation, sent: SentRequest): string | undefined {
  const { access } = operation;
  if (!access.public) {
    const c = sent.credential;
    const ok = (c === 'admin' && access.bearer) || (c === 'user' && access.bearer && !access.adminOnly) || (c === 'apiKey' && access.apiKey);
    if (!ok) return `credential ${c} on ${access.adminOnly ? 'an admin' : 'a protected'} route`;
  }
  if (sent.offRoute) return 'not the documented path';
  for (const parameter of operation.pathParams) {
    const value = sent.pathValues[parameter.name];
    if (value === undefined) return `path ${parameter.name}: does not percent-decode`;
    const problem = textViolation(value, parameter.schema ?? {}, `path ${parameter.name}`);
    if (problem) return problem;
  }
  for (const parameter of operation.queryParams) {
    const value = sent.query[parameter.name];
    if (value === undefined) {
      if (parameter.required) return `query ${parameter.name}: missing`;
      continue;
    }
    if (Array.isArray(value)) return `query ${parameter.name}: repeated`;
    const problem = textViolation(value, parameter.schema ?? {}, `query ${parameter.name}`);
    if (problem) return problem;
  }
  for (const parameter of operation.headerParams) {
    const value = sent.headers[parameter.name.toLowerCase()];
    if (value === undefined) {
      if (parameter.required) return `header ${parameter.name}: missing`;
      continue;
    }
    const problem = textViolation(value, parameter.schema ?? {}, `header ${parameter.name}`);
    if (problem) return problem;
  }
  const { body } = sent;
  if (body.present && !body.json) return 'a body that is not JSON (the contract: 415)';
  if (!operation.body) return undefined;
  if (!body.present) {
    // Nest reads a missing body as {}: allowed exactly when {} is.
    return valueViolation({}, operation.body.schema, 'body') && `no body, and ${valueViolation({}, operation.body.schema, 'body')}`;
  }
  if (!body.parsed) return 'body is not valid JSON';
  return valueViolation(body.value, operation.body.schema, 'body');
}

/**
 * The documented operation a concrete path reaches: a value for a path
 * parameter can spell another route (`/users/{id}` with `me` is GET /users/me),
 * and a static route wins over a parameter, as in the router.
 */
export function routeFor(operations: Operation[], method: string, rawPath: string): { operation: Operation; pathValues: Record<string, string | undefined> } | undefined {
  const segments = rawPath.split('/');
  let best: { operation: Operation; pathValues: Record<string, string | undefined>; params: number } | undefined;
  for (const operation of operations) {
    if (operation.method !== method) continue;
    const template = operation.path.split('/');
    if (template.length !== segments.length) continue;
    const pathValues: Record<string, string | undefined> = {};
    let params = 0;
    const matches = template.every((part, i) => {
      const name = /^\{(.+)\}$/.exec(part)?.[1];
      if (!name) return part === segments[i];
      params += 1;
      if (!segments[i]) return false;
      try {
        pathValues[name] = decodeURIComponent(segments[i]!);
      } catch {
        pathValues[name] = undefined;
      }
      return true;
    });
    if (matches && (!best || params < best.params)) best = { operation, pathValues, params };
  }
  return best && { operation: best.operation, pathValues: best.pathValues };
}
