/**
 * The admin API as OpenAPI 3.1, served at GET /api/openapi.json. A test
 * checks that every route of the router is here and nothing else is.
 */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const team = { name: 'team', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const clientId = { name: 'client_id', in: 'path', required: true, schema: { type: 'string' } };
const page = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
];
const clientAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Client' } } },
});
const errors = {
  '400': error('invalid_request: the message names the bad field'),
  '401': error('invalid_token'),
  '403': error('insufficient_permissions or key_limit_reached'),
  '404': error('not_found'),
  '429': error('rate_limit_exceeded'),
};
const json = (schema: object) => ({ required: true, content: { 'application/json': { schema } } });

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'keyport admin API', version: '1' },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'the operator token, or an access token with scope keys:manage',
      },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'message'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
      Client: {
        type: 'object',
        properties: {
          client_id: { type: 'string' },
          client_secret: { type: 'string', description: 'only in the answers to create and regenerate' },
          name: { type: ['string', 'null'] },
          kind: { enum: ['service_account', 'service_account_jwt', 'app', 'resource_server'] },
          team_id: { type: ['integer', 'null'] },
          user_id: { type: ['integer', 'null'] },
          environment: { enum: ['prod', 'dev'] },
          scopes: { type: 'array', items: { type: 'string' } },
          redirect_uris: { type: 'array', items: { type: 'string' } },
          created_at: { type: ['string', 'null'], format: 'date-time' },
          expires_at: { type: ['string', 'null'], format: 'date-time' },
          last_used_at: { type: ['string', 'null'], format: 'date-time' },
          usage_count: { type: 'integer' },
          is_valid: { type: 'boolean' },
          secret_hint: { type: ['string', 'null'] },
        },
      },
      NewClient: {
        type: 'object',
        required: ['kind'],
        additionalProperties: false,
        properties: {
          kind: { enum: ['service_account', 'service_account_jwt', 'app'] },
          name: { type: 'string', maxLength: 200 },
          environment: { enum: ['prod', 'dev'] },
          expires_in_days: { type: 'integer', minimum: 1, maximum: 3650 },
          scopes: { type: 'array', items: { type: 'string' } },
          public_key: {
            description: 'PEM, JWK or JWKS of one public key (service_account_jwt)',
            oneOf: [{ type: 'string' }, { type: 'object' }],
          },
          redirect_uris: { type: 'array', items: { type: 'string' } },
          client_secret: {
            type: 'string',
            minLength: 10,
            maxLength: 30,
            description: 'three of: upper, lower, digit, other',
          },
        },
      },
      Page: {
        type: 'object',
        properties: {
          total_count: { type: 'integer' },
          data: { type: 'array' },
          exceeds_total_count: { type: 'boolean' },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/api/teams/{team}/clients': {
      post: {
        summary: 'Create a key',
        parameters: [team],
        requestBody: json({ $ref: '#/components/schemas/NewClient' }),
        responses: { '201': clientAnswer('the client, with client_secret this once'), ...errors },
      },
      get: {
        summary: "List the team's keys (never a secret)",
        parameters: [team, ...page],
        responses: {
          '200': {
            description: 'a page',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Page' } } },
          },
          ...errors,
        },
      },
    },
    '/api/teams/{team}/clients/{client_id}': {
      get: {
        summary: 'Get a key',
        parameters: [team, clientId],
        responses: { '200': clientAnswer('the client'), ...errors },
      },
      patch: {
        summary: 'Rename, rescope or revoke (is_valid: false) a key',
        parameters: [team, clientId],
        requestBody: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            scopes: { type: 'array', items: { type: 'string' } },
            is_valid: { const: false },
          },
        }),
        responses: { '200': clientAnswer('the client'), ...errors },
      },
      delete: {
        summary: 'Revoke a key, keeping the record',
        parameters: [team, clientId],
        responses: { '204': { description: 'revoked' }, ...errors },
      },
    },
    '/api/teams/{team}/clients/{client_id}/secret': {
      post: {
        summary: 'Regenerate the secret (same client_id); revives a revoked key',
        parameters: [team, clientId],
        requestBody: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            client_secret: { type: 'string' },
            grace_period_seconds: { type: 'integer', minimum: 0, maximum: 604800 },
          },
        }),
        responses: { '200': clientAnswer('the client, with the new client_secret this once'), ...errors },
      },
    },
    '/api/teams/{team}/clients/{client_id}/keys': {
      post: {
        summary: 'Add a public key to a JWT service account (at most 3), for a key-pair rotation without downtime',
        parameters: [team, clientId],
        requestBody: json({
          type: 'object',
          additionalProperties: false,
          required: ['public_key'],
          properties: { public_key: { oneOf: [{ type: 'string' }, { type: 'object' }] }, kid: { type: 'string' } },
        }),
        responses: { '201': { description: '{kid}' }, ...errors },
      },
    },
    '/api/teams/{team}/clients/{client_id}/keys/{kid}': {
      delete: {
        summary: 'Remove a public key (never the last)',
        parameters: [team, clientId, { name: 'kid', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'removed' }, ...errors },
      },
    },
    '/api/teams/{team}/clients/{client_id}/usage': {
      get: {
        summary: "A key's direct API calls per hour or day by outcome, and its last source addresses",
        parameters: [
          team,
          clientId,
          {
            name: 'from',
            in: 'query',
            schema: { type: 'string' },
            description: 'epoch seconds or ISO 8601; default 7 days ago',
          },
          {
            name: 'to',
            in: 'query',
            schema: { type: 'string' },
            description: 'epoch seconds or ISO 8601; default now',
          },
          { name: 'granularity', in: 'query', schema: { enum: ['hour', 'day'] } },
        ],
        responses: {
          '200': {
            description:
              '{data: [{t, valid, rate_limited, usage_exceeded, insufficient_scope}], addresses: [{address, first_seen, last_seen, count}]}',
          },
          ...errors,
        },
      },
    },
    '/api/teams/{team}/events': {
      get: {
        summary: "The team's audit events, newest first",
        parameters: [team, ...page],
        responses: { '200': { description: 'a page of events' }, ...errors },
      },
    },
    '/api/openapi.json': {
      get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } },
    },
  },
} as const;
