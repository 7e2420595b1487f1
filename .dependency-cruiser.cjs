/**
 * The dependency rules of Switchyard (docs/architecture.md, "Layers"), checked by
 * `npm run lint:deps` and by `npm test`. Layers, bottom to top: a module may import its own
 * layer and the ones below it, never one above.
 *   base       wire protocol, pure utilities (util/: backoff, token bucket), error catalogue, the
 *              Service interface, logger and metric registry
 *   domain     cache, record formats, config, the demo generator: no I/O towards clients
 *   source     record sources (Kafka, demo, memory) and their health
 *   http-kit   framework-free HTTP helpers every transport uses (request view, limits, routing,
 *              the request pipeline's types, replies, the one error path)
 *   transport  SSE, polling, rollout, fleet, security, observability, overload, telemetry, compare
 *   http       the app and the front door that assemble the transports
 *   root       createGateway (the core's composition root), the lifecycle, the cluster primary
 *   composition gateway/switchyard.ts and gateway/main.ts: the only files that import everything,
 *              extensions (legacy-adapter/) and compat's server side included.
 */
const LAYERS = [
  [
    'base',
    '^gateway/(protocol/|util/|errors[.]ts$|service[.]ts$|observability/(logger|metrics|process-metrics|distinct-counter)[.]ts$)',
  ],
  // source/types.ts is the record model the cache consumes and the sources produce (the port).
  ['domain', '^gateway/((cache|formats|config|demo)/|source/types[.]ts$)'],
  ['source', '^gateway/source/'],
  [
    'http-kit',
    '^gateway/http/(request-utils|request-view|exact-router|route-table|pipeline|reply|json-body|admin-auth|connection-guard|send-error|stream-wait-answer|stream-grant|client-id)[.]ts$',
  ],
  [
    'transport',
    '^gateway/((sse|poll|rollout|fleet|security|observability|overload|telemetry|compare)/|(context|extension)[.]ts$)',
  ],
  ['http', '^gateway/http/'],
  ['root', '^gateway/(gateway|lifecycle|cluster)[.]ts$'],
  ['composition', '^gateway/(main|switchyard)[.]ts$'],
];

/** One rule per layer: nothing in it imports a layer above it. */
const upward = LAYERS.slice(0, -1).map(([name], i) => {
  const own = LAYERS.slice(i + 1).map(([, path]) => path);
  // A module matched by an earlier (lower) pattern belongs to that layer (http-kit before http).
  const lower = LAYERS.slice(0, i).map(([, path]) => path);
  return {
    name: `layer-${name}-no-upward`,
    comment: `${name} must not import a higher layer (${LAYERS.slice(i + 1)
      .map(([n]) => n)
      .join(', ')}); invert the dependency with a port the higher layer implements.`,
    severity: 'error',
    from: { path: LAYERS[i][1], pathNot: lower },
    to: { path: own, pathNot: [...lower, LAYERS[i][1]] },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles between modules.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'core-no-extensions',
      comment:
        'The gateway core knows extensions only through gateway/extension.ts; legacy-adapter/ and compat/ are wired in by gateway/switchyard.ts.',
      severity: 'error',
      from: { path: '^gateway/', pathNot: '^gateway/(main|switchyard)[.]ts$' },
      to: { path: '^(legacy-adapter|compat)/' },
    },
    {
      name: 'extension-no-root',
      comment:
        'An extension reads the gateway through GatewayView / ExtensionHost, never the context or the root.',
      severity: 'error',
      from: { path: '^legacy-adapter/' },
      to: {
        path: '^gateway/((gateway|context|lifecycle|main|switchyard|cluster)[.]ts$|http/(app|front-door)[.]ts$)',
      },
    },
    {
      name: 'client-kit-browser-only',
      comment:
        'compat/client/ is the browser kit: it may import itself, the shared wire protocol (gateway/protocol/) and the pure backoff (gateway/util/backoff.ts), nothing server-side.',
      severity: 'error',
      from: { path: '^compat/client/' },
      to: {
        path: '^(gateway|legacy-adapter|compat)/',
        pathNot: ['^compat/client/', '^gateway/protocol/', '^gateway/util/backoff[.]ts$'],
      },
    },
    {
      name: 'core-no-metrics-library',
      comment:
        'The core (cache, sources, SSE, polling, security, rollout, telemetry) reports domain events through ports it declares (CacheObserver, KafkaMetrics, StreamMetrics, SecurityEvents, RolloutEvents, TelemetryEvents); prom-client and the metric registry stay in gateway/observability/, whose adapters createGateway passes in.',
      severity: 'error',
      from: { path: '^gateway/(cache|source|sse|poll|security|rollout|telemetry)/' },
      to: { path: ['(^|/)node_modules/prom-client/', '^gateway/observability/metrics[.]ts$'] },
    },
    {
      name: 'pure-modules',
      comment:
        'gateway/protocol/ and gateway/util/ are pure (the browser kit bundles parts of them): no node: builtins, no packages, nothing else of the gateway.',
      severity: 'error',
      from: { path: '^gateway/(protocol|util)/' },
      to: { pathNot: '^gateway/(protocol|util)/' },
    },
  ],
  options: {
    // Type-only imports count: a type import still ties the layers together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // Packages stay in the graph (as leaves: doNotFollow) so rules can name them (prom-client).
    exclude: { path: '(^|/)dist/|[.]test[.]ts$|/assets/|/public/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
