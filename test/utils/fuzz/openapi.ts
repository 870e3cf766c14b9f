/**
 * The parts of an OpenAPI 3 document the fuzzer reads, and the operations of
 * a document with their schemas inlined ($ref resolved into components), so
 * a route added to the API is fuzzed without writing a case for it.
 */

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  nullable?: boolean;
  example?: unknown;
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface RawOperation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  security?: Record<string, string[]>[];
  responses?: Record<string, { description?: string }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, { type: string; in?: string; name?: string }> };
}

/** Who may call an operation, as its `security` and 403 description say. */
export interface Access {
  /** No security requirement: anyone, with any or no credentials. */
  public: boolean;
  bearer: boolean;
  apiKey: boolean;
  /** A Bearer token needs role admin ("Requires role admin", "A Bearer token without role admin"). */
  adminOnly: boolean;
}

export interface Operation {
  /** "POST /api/v1/auth/login" */
  key: string;
  method: string;
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  headerParams: Parameter[];
  /** The application/json request body, schema inlined; undefined when the operation takes none. */
  body?: { required: boolean; schema: Schema };
  access: Access;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Reads first, destructive methods last (a DELETE that ends a session runs after everything that needs one). */
const METHOD_ORDER: Record<string, number> = { GET: 0, POST: 1, PUT: 2, PATCH: 3, DELETE: 4 };

/** A schema with every $ref replaced by what it points at (depth-bounded: the DTOs have no cycles, but a document could). */
export function inline(document: OpenApiDocument, schema: Schema | undefined, depth = 0): Schema {
  if (!schema || depth > 20) return {};
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = document.components?.schemas?.[name];
    if (!target) throw new Error(`unresolvable $ref ${schema.$ref}`);
    return inline(document, target, depth + 1);
  }
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, inline(document, value, depth + 1)]));
  }
  if (schema.items) out.items = inline(document, schema.items, depth + 1);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = inline(document, schema.additionalProperties, depth + 1);
  for (const combinator of ['allOf', 'oneOf', 'anyOf'] as const) {
    if (schema[combinator]) out[combinator] = schema[combinator]!.map((s) => inline(document, s, depth + 1));
  }
  if (out.allOf) {
    // Merged into one object schema: enough for the DTOs Nest documents (inheritance via allOf).
    const parts = out.allOf;
    delete out.allOf;
    for (const part of parts) {
      out.type ??= part.type;
      out.properties = { ...out.properties, ...part.properties };
      out.required = [...(out.required ?? []), ...(part.required ?? [])];
    }
  }
  return out;
}

function accessOf(document: OpenApiDocument, operation: RawOperation): Access {
  const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
  const schemeTypes = document.components?.securitySchemes ?? {};
  const bearer = schemes.some((name) => schemeTypes[name]?.type === 'http');
  const apiKey = schemes.some((name) => schemeTypes[name]?.type === 'apiKey');
  const forbidden = operation.responses?.['403']?.description ?? '';
  return { public: schemes.length === 0, bearer, apiKey, adminOnly: bearer && /\brole admin\b/i.test(forbidden) };
}

/** Every operation of the document, reads first and DELETEs last. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const raw = item[method];
      if (!raw) continue;
      const parameters = (raw.parameters ?? []).map((p) => ({ ...p, schema: inline(document, p.schema) }));
      const json = raw.requestBody?.content?.['application/json'];
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
        headerParams: parameters.filter((p) => p.in === 'header'),
        body: json ? { required: raw.requestBody?.required ?? false, schema: inline(document, json.schema) } : undefined,
        access: accessOf(document, raw),
      });
    }
  }
  return operations.sort((a, b) => METHOD_ORDER[a.method]! - METHOD_ORDER[b.method]!);
}
