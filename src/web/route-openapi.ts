import { z } from 'zod';
import type { RouteDeclaration } from './route.js';

/** The body of every refusal: `{error, message}`, a 429 also `retry_after` (docs/contract.md). */
export const errorBody = z.object({
  error: z.string(),
  message: z.string().optional(),
  retry_after: z.int().min(1).optional(),
});

const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'the operator token, or an access token with scope keys:manage',
  },
  basic: {
    type: 'http',
    scheme: 'basic',
    description: "a resource server's client_id and client_secret (or both in the body), as at introspection",
  },
} as const;

/**
 * JSON Schema 2020-12 (OpenAPI 3.1's own dialect) of a declared schema: what
 * a caller may send for input, what keyport answers for output. An object
 * answer says `additionalProperties: false`: the answer is stripped to it.
 */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' });
  return rest;
};

/** `/teams/:team` → `/teams/{team}` */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

function parametersOf(route: RouteDeclaration) {
  const of = (where: 'path' | 'query', schema: z.ZodType | undefined) => {
    if (!schema) return [];
    const { properties = {}, required = [] } = jsonSchema(schema, 'input') as {
      properties?: Record<string, object>;
      required?: string[];
    };
    return Object.entries(properties).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || required.includes(name),
      schema: s,
    }));
  };
  return [...of('path', route.params), ...of('query', route.query)];
}

function operationOf(route: RouteDeclaration) {
  const success = route.response
    ? { content: { 'application/json': { schema: jsonSchema(route.response, 'output') } } }
    : route.responseType
      ? { content: { [route.responseType]: {} } }
      : {};
  const error = { content: { 'application/json': { schema: jsonSchema(errorBody, 'output') } } };
  const parameters = parametersOf(route);
  return {
    summary: route.summary,
    security: route.security === 'none' ? [] : [{ [route.security]: [] }],
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(
              (route.bodyTypes ?? ['application/json']).map((type) => [
                type,
                { schema: jsonSchema(route.body!, 'input') },
              ]),
            ),
          },
        }
      : {}),
    responses: {
      [String(route.status)]: { description: route.summary, ...success },
      ...Object.fromEntries(route.errors.map((status) => [String(status), { description: 'refused', ...error }])),
    },
  };
}

/** The OpenAPI 3.1 document of `routes`, generated from their declarations alone. */
export function openApiDocument(info: { title: string; version: string }, routes: readonly RouteDeclaration[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[openApiPath(route.path)] ??= {})[route.method] = operationOf(route);
  return { openapi: '3.1.0', info, components: { securitySchemes: SECURITY_SCHEMES }, paths };
}
