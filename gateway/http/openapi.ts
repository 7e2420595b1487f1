/**
 * The admin API reference: an OpenAPI 3.1 document served at `GET /v1/admin/openapi.json` and
 * rendered as docs/admin-api.md (`npm run docs:admin-api`). test/unit/admin-openapi.test.ts fails
 * when a mounted admin route is missing here, when this names a route that is not mounted, and
 * when docs/admin-api.md is not the rendering of this document.
 */

const json = (schema: object, example?: unknown) => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});
const error = (description: string) => ({
  description,
  content: json({ $ref: '#/components/schemas/Error' }),
});
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The version the change is based on, as the ETag of the GET ("12"). Stale: 409 VERSION_CONFLICT and nothing changes. Without it the change is based on the version in force on the process that takes it.',
  schema: { type: 'string', example: '"12"' },
};
const etag = {
  ETag: {
    description: 'The version now in force, in quotes: send it back as If-Match.',
    schema: { type: 'string' },
  },
};
const writeErrors = {
  '400': error('The body does not validate (BAD_BODY, INVALID_RULES); the problems are listed.'),
  '401': error('No or unknown bearer token (UNAUTHORIZED).'),
  '403': error('The read-only token on a write (FORBIDDEN).'),
  '409': error('If-Match names a version no longer in force: another change came first (VERSION_CONFLICT).'),
  '503': error(
    'The control log could not be written (CONTROL_UNAVAILABLE); nothing changed. Retry after Retry-After.',
  ),
};
const readErrors = {
  '401': error('No or unknown bearer token (UNAUTHORIZED).'),
};

const rules = {
  type: 'object',
  additionalProperties: false,
  properties: {
    percent: {
      type: 'number',
      minimum: 0,
      maximum: 100,
      description: 'Share of client ids sent to SSE (steps of 0.01).',
    },
    killSwitch: {
      type: 'boolean',
      default: false,
      description: 'Everyone polls; streaming kits are told at once.',
    },
    allow: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description: 'Client ids that always stream.',
    },
    deny: {
      type: 'array',
      items: { type: 'string' },
      default: [],
      description: 'Client ids that always poll.',
    },
    anonymous: { type: 'string', enum: ['poll', 'sse'], default: 'poll' },
    recheckAfterMs: { type: 'integer', minimum: 1000, maximum: 3_600_000, default: 60_000 },
    note: { type: 'string', maxLength: 500 },
  },
};

const fleet = {
  type: 'object',
  description: 'Which versions every process (instance/worker) has in force.',
  properties: {
    transport: { type: 'string', enum: ['kafka', 'cluster', 'memory'] },
    desired: {
      type: 'object',
      properties: { rules: { type: 'integer' }, routes: { type: 'integer' } },
    },
    processes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          process: { type: 'string', example: 'gw-1:8080/2' },
          instance: { type: 'string' },
          worker: { type: 'integer' },
          pid: { type: 'integer' },
          versions: {
            type: 'object',
            properties: { rules: { type: 'integer' }, routes: { type: 'integer' } },
          },
          at: { type: 'integer', description: 'When it reported (epoch ms); repeated every 30 s.' },
          stale: {
            type: 'boolean',
            description: 'No report for 90 s (crashed or cut off); listed until 5 min.',
          },
        },
      },
    },
    converged: {
      type: 'boolean',
      description: 'Every process that reported (and is not stale) has the desired versions.',
    },
  },
};

const route = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    path: { type: 'string' },
    mode: { type: 'string', enum: ['proxy', 'shadow', 'serve'] },
    contract: { type: 'string' },
    contractVersion: { type: 'integer' },
    sampleRate: { type: 'number' },
    sampleRateSource: { type: 'string', enum: ['route', 'LEGACY_SHADOW_SAMPLE'] },
    backend: { type: ['string', 'null'] },
    version: { type: 'integer', description: 'Version of the routes document in force.' },
    changedAt: { type: ['string', 'null'], format: 'date-time' },
    serve: { type: 'object' },
    shadow: { type: 'object', description: 'Comparison counts on the process that answered.' },
  },
};

export const ADMIN_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Switchyard admin API',
    version: '1',
    description:
      'Route modes, shadow sample rates, rollout rules and the kill switch are fleet state: a change taken by any process is published to the control log (the Kafka control topic, ROLLOUT_TOPIC) and applied by every worker of every instance within a second. Send changes to any instance (through the load balancer). Reads need ADMIN_READ_TOKEN or ADMIN_TOKEN; writes need ADMIN_TOKEN.',
  },
  servers: [{ url: 'http://127.0.0.1:8080' }],
  security: [{ bearer: [] }],
  paths: {
    '/v1/admin/openapi.json': {
      get: {
        summary: 'This document',
        security: [],
        responses: { '200': { description: 'The OpenAPI document.', content: json({ type: 'object' }) } },
      },
    },
    '/v1/admin/routes': {
      get: {
        summary: 'Every legacy route: mode, contract, sample rate, shadow statistics',
        responses: {
          '200': {
            description:
              'The routes in force on the process that answered (shadow counts: of every worker of the instance), and the fleet view.',
            headers: etag,
            content: json({
              type: 'object',
              properties: { version: { type: 'integer' }, routes: { type: 'array', items: route }, fleet },
            }),
          },
          ...readErrors,
        },
      },
    },
    '/v1/admin/routes/{name}': {
      put: {
        summary: "Change one route's mode, contract or sample rate (fields not given are kept)",
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string' }, example: 'live-map' },
          ifMatch,
        ],
        requestBody: {
          required: true,
          content: json(
            {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: {
                mode: { type: 'string', enum: ['proxy', 'shadow', 'serve'] },
                contract: { type: 'string' },
                sampleRate: {
                  type: ['number', 'null'],
                  minimum: 0,
                  maximum: 1,
                  description: 'Share of shadow requests compared; null resets it to LEGACY_SHADOW_SAMPLE.',
                },
              },
            },
            { mode: 'shadow', sampleRate: 0.5 },
          ),
        },
        responses: {
          '200': {
            description: 'The route, now in force on this process (the others follow within a second).',
            headers: etag,
            content: json(route),
          },
          '404': error('No route of that name (NOT_FOUND); the known names are listed.'),
          ...writeErrors,
        },
      },
    },
    '/v1/admin/shadow': {
      get: {
        summary: 'Shadow statistics and recent mismatches with both bodies',
        parameters: [
          { name: 'route', in: 'query', required: false, schema: { type: 'string' } },
          {
            name: 'limit',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 0, maximum: 50, default: 10 },
          },
        ],
        responses: {
          '200': {
            description:
              'Per route statistics and the newest mismatches, of every worker of the instance (`workers`: how many answered).',
            content: json({ type: 'object' }),
          },
          '400': error('A malformed limit (BAD_QUERY).'),
          '404': error('No route of that name (NOT_FOUND).'),
          ...readErrors,
        },
      },
    },
    '/v1/admin/rollout': {
      get: {
        summary: 'The rollout rules in force, their version, and the fleet view',
        responses: {
          '200': {
            description: 'The rules.',
            headers: etag,
            content: json({
              type: 'object',
              properties: {
                rules,
                version: { type: 'integer' },
                updatedAt: { type: ['integer', 'null'] },
                store: { type: 'string', enum: ['kafka', 'memory'] },
                loaded: { type: 'boolean' },
                fleet,
              },
            }),
          },
          ...readErrors,
        },
      },
      put: {
        summary: 'Replace the rules (fields not given take their defaults)',
        parameters: [ifMatch],
        requestBody: {
          required: true,
          content: json({ ...rules, required: ['percent'] }, { percent: 1, allow: ['canary-1'] }),
        },
        responses: {
          '200': { description: 'The rules now in force.', headers: etag, content: json({ type: 'object' }) },
          ...writeErrors,
        },
      },
      patch: {
        summary: 'Change only the fields given (a percentage step keeps the lists)',
        parameters: [ifMatch],
        requestBody: { required: true, content: json(rules, { percent: 5 }) },
        responses: {
          '200': { description: 'The rules now in force.', headers: etag, content: json({ type: 'object' }) },
          ...writeErrors,
        },
      },
    },
    '/v1/admin/contracts': {
      get: {
        summary: 'The legacy contracts loaded at start (LEGACY_CONTRACTS), with the file each came from',
        responses: {
          '200': {
            description: 'The loaded contracts.',
            content: json({
              type: 'object',
              properties: {
                contracts: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      name: { type: 'string' },
                      version: { type: 'string' },
                      route: { type: 'string' },
                      streams: {
                        type: 'object',
                        additionalProperties: { type: 'string', enum: ['table', 'feed'] },
                      },
                      file: { type: ['string', 'null'] },
                      usedBy: { type: 'array', items: { type: 'string' } },
                      unused: { type: 'boolean' },
                      problems: { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            }),
          },
          ...readErrors,
        },
      },
    },
    '/v1/admin/fleet': {
      get: {
        summary: 'Desired versions and what every instance and worker has applied',
        responses: {
          '200': {
            description: 'The fleet view.',
            content: json({ type: 'object', properties: { self: { type: 'string' }, ...fleet.properties } }),
          },
          ...readErrors,
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: { code: { type: 'string' }, message: { type: 'string' } },
            required: ['code', 'message'],
          },
        },
      },
    },
  },
} as const;

type Operation = {
  summary: string;
  parameters?: ReadonlyArray<{ name: string; in: string; description?: string }>;
  responses: Record<string, { description: string }>;
  requestBody?: { content: Record<string, { example?: unknown }> };
};

/** docs/admin-api.md: the document as Markdown (generated; do not edit by hand). */
export function renderAdminApiMarkdown(doc = ADMIN_OPENAPI): string {
  const out: string[] = [
    '# Admin API reference',
    '',
    '<!-- Generated from gateway/http/openapi.ts by `npm run docs:admin-api`; do not edit. -->',
    '',
    doc.info.description,
    '',
    'The gateway serves this document as OpenAPI 3.1 at `GET /v1/admin/openapi.json`. Errors have',
    'the shape `{"error":{"code","message",...}}` (docs/errors.md).',
    '',
  ];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods as Record<string, Operation>)) {
      out.push(`## \`${method.toUpperCase()} ${path}\``, '', op.summary + '.', '');
      for (const p of op.parameters ?? [])
        out.push(`- ${p.in} \`${p.name}\`${p.description ? `: ${p.description}` : ''}`);
      if (op.parameters?.length) out.push('');
      const example = op.requestBody ? Object.values(op.requestBody.content)[0]?.example : undefined;
      if (example !== undefined) out.push('Example body:', '', '```json', JSON.stringify(example), '```', '');
      for (const [status, r] of Object.entries(op.responses)) out.push(`- **${status}**: ${r.description}`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
