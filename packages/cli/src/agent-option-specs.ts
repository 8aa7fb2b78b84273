import type { OptionSpec } from './settings.js';
import { logFormat, logLevel, otelEndpoint } from './shared-option-specs.js';

// `agent run`, and `demo` (a hub and an agent in one process).

// How `agent run` checks a TLS hub.
const agentTlsOptions: readonly OptionSpec[] = [
  {
    flag: 'ca',
    env: ['HUB_CA'],
    kind: 'string',
    arg: '<file>',
    defaultText: 'the system store',
    description: 'PEM CA certificate(s) that https/wss hubs must chain to (a private CA)',
  },
  {
    flag: 'hub-pin',
    env: ['HUB_PIN'],
    kind: 'list',
    arg: '<list>',
    defaultText: 'none',
    description: "sha256/<base64> pins of the hub's public key (SPKI); any one must match",
  },
  otelEndpoint,
];

export const AGENT_RUN_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'token',
    env: ['TOKEN'],
    kind: 'string',
    arg: '<token>',
    description: 'token from `slime hub register` (required)',
  },
  {
    flag: 'hub',
    env: ['HUB'],
    kind: 'list',
    arg: '<url>',
    description: 'hub URL: http://, https://, ws:// or wss:// (required; a list connects to each)',
  },
  {
    flag: 'upstream',
    env: ['UPSTREAM'],
    kind: 'list',
    arg: '<list>',
    description: 'upstreams, host:port or URLs, comma or space separated; one connection each (required)',
  },
  {
    flag: 'num-worker',
    goFlag: 'numWorker',
    env: ['NUM_WORKER', 'NUMWORKER'],
    kind: 'int',
    arg: '<n>',
    defaultText: '1',
    description: 'requests each upstream serves at once',
  },
  {
    flag: 'agent-id',
    goFlag: 'agentID',
    env: ['AGENT_ID', 'AGENTID'],
    kind: 'string',
    arg: '<id>',
    description: 'agent id, shown by the hub in its agents table and logs',
  },
  {
    flag: 'report-hardware',
    goFlag: 'reportHardware',
    env: ['REPORTHARDWARE', 'REPORT_HARDWARE'],
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'true',
    description: 'report CPU, memory and GPU names to the hub',
  },
  {
    flag: 'preserve-host',
    env: ['PRESERVE_HOST'],
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'false',
    description: "send the client's Host header upstream instead of the upstream's own",
  },
  {
    flag: 'upstream-header-timeout',
    env: ['UPSTREAM_HEADER_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '5m',
    description: 'longest the upstream may take to send its response head (504 past it)',
  },
  {
    flag: 'upstream-body-timeout',
    env: ['UPSTREAM_BODY_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '5m',
    description: 'longest pause between two chunks of the upstream response body',
  },
  {
    flag: 'health-path',
    env: ['HEALTH_PATH'],
    kind: 'string',
    arg: '<path>',
    defaultText: 'none (TCP connect)',
    description: 'how a down upstream is probed: GET this path (healthy below 500), else a TCP connect',
  },
  {
    flag: 'health-interval',
    env: ['HEALTH_INTERVAL'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '2s',
    description: 'probe interval while the upstream is down, doubling per failure up to 30s',
  },
  {
    flag: 'metrics-port',
    env: ['METRICS_PORT'],
    kind: 'int',
    arg: '<port>',
    defaultText: 'none (off)',
    description: 'serve Prometheus metrics on this port at /metrics',
  },
  {
    flag: 'metrics-host',
    env: ['METRICS_HOST'],
    kind: 'string',
    arg: '<host>',
    defaultText: '127.0.0.1',
    description: 'address of the metrics server',
  },
  logLevel,
  logFormat,
  ...agentTlsOptions,
];

export const DEMO_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'port',
    env: ['PORT'],
    kind: 'int',
    arg: '<port>',
    defaultText: '8080',
    description: 'hub port (0 = any free port)',
  },
  {
    flag: 'host',
    env: ['HOST'],
    kind: 'string',
    arg: '<host>',
    defaultText: '127.0.0.1',
    description: 'address to listen on',
  },
  {
    flag: 'admin-port',
    env: ['ADMIN_PORT'],
    kind: 'int',
    arg: '<port>',
    defaultText: '8081',
    description: 'status page and admin API on 127.0.0.1 (its URL and a one-run token are printed)',
  },
  { ...logLevel, defaultText: 'warn' },
  logFormat,
];
