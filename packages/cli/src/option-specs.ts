import type { OptionSpec } from './settings.js';

// The single table behind flags, env vars, config keys, --help and docs/cli.md. Go spellings and
// run-together env names (APPPASSWORD) come first where the Go version used them. Every setting
// also reads SLIME_<FLAG> (see slimeEnvName), which wins over the names listed in `env`.

const logLevel: OptionSpec = {
  flag: 'log-level',
  env: ['LOG_LEVEL'],
  kind: 'string',
  arg: '<level>',
  defaultText: 'info',
  description: 'log level: fatal, error, warn, info, debug, trace or silent',
};

const logFormat: OptionSpec = {
  flag: 'log-format',
  env: ['LOG_FORMAT'],
  kind: 'string',
  arg: '<format>',
  defaultText: 'pretty at a terminal, else json',
  description: 'log lines: json (one object per line, for machines) or pretty (readable, ISO times)',
};

const stateDir: OptionSpec = {
  flag: 'state-dir',
  env: [],
  kind: 'string',
  arg: '<dir>',
  defaultText: 'none',
  description:
    'directory for state the hub keeps: policy.yaml (unless --policy) and revoked.json (unless --revocations-file)',
};

const redisUrl: OptionSpec = {
  flag: 'redis',
  env: ['REDIS_URL'],
  slimeEnv: 'SLIME_REDIS_URL',
  kind: 'string',
  arg: '<url>',
  defaultText: 'none (this hub alone)',
  description: 'redis:// or rediss:// URL: share rate limits, the policy and revocations with other hubs',
};

const redisPrefix: OptionSpec = {
  flag: 'redis-prefix',
  env: ['REDIS_PREFIX'],
  kind: 'string',
  arg: '<prefix>',
  defaultText: 'slime:',
  description: 'prefix of every Redis key and channel (hubs with the same prefix share state)',
};

const revocationsFile: OptionSpec = {
  flag: 'revocations-file',
  env: ['REVOCATIONS_FILE'],
  kind: 'string',
  arg: '<file>',
  defaultText: '<state-dir>/revoked.json, else ./slime-revoked.json',
  description: 'deny list of token ids and agent names when there is no --redis (JSON, re-read on change)',
};

const otelEndpoint: OptionSpec = {
  flag: 'otel-endpoint',
  env: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
  kind: 'string',
  arg: '<url>',
  defaultText: 'none (tracing off)',
  description:
    'OTLP/HTTP collector: spans are exported there (a base URL gets /v1/traces; OTEL_EXPORTER_OTLP_HEADERS are sent)',
};

// TLS and HTTP/2 of `hub run` (docs/tls-http2-tracing.md).
const hubTlsOptions: readonly OptionSpec[] = [
  {
    flag: 'tls-cert',
    env: ['TLS_CERT'],
    kind: 'string',
    arg: '<file>',
    defaultText: 'none (plain HTTP)',
    description:
      'PEM certificate chain: serve applications and agents over TLS (reloaded on SIGHUP and on change)',
  },
  {
    flag: 'tls-key',
    env: ['TLS_KEY'],
    kind: 'string',
    arg: '<file>',
    defaultText: 'none',
    description: 'PEM private key of --tls-cert (refused at start when it does not match)',
  },
  {
    flag: 'admin-tls-cert',
    env: ['ADMIN_TLS_CERT'],
    kind: 'string',
    arg: '<file>',
    defaultText: 'none (plain HTTP)',
    description: 'PEM certificate chain of the admin port (give --tls-cert again to reuse it)',
  },
  {
    flag: 'admin-tls-key',
    env: ['ADMIN_TLS_KEY'],
    kind: 'string',
    arg: '<file>',
    defaultText: 'none',
    description: 'PEM private key of --admin-tls-cert',
  },
  {
    flag: 'http2',
    env: ['HTTP2'],
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'true',
    description: 'serve HTTP/2 too: by ALPN over TLS, by prior knowledge (h2c) in cleartext',
  },
  otelEndpoint,
];

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

export const HUB_RUN_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'secret',
    env: ['SECRET'],
    kind: 'string',
    arg: '<secret>',
    description: 'secret agent tokens are signed with (required)',
  },
  {
    flag: 'previous-secrets',
    env: ['PREVIOUS_SECRETS'],
    kind: 'list',
    arg: '<list>',
    defaultText: 'none',
    description: 'earlier secrets whose tokens are still accepted during a rollover (comma separated)',
  },
  {
    flag: 'app-password',
    goFlag: 'appPassword',
    env: ['APP_PASSWORD', 'APPPASSWORD'],
    kind: 'string',
    arg: '<password>',
    description: 'applications must send it in the Slime-App-Password header',
  },
  {
    flag: 'host',
    env: ['HOST'],
    kind: 'string',
    arg: '<host>',
    defaultText: '0.0.0.0',
    description: 'address to listen on',
  },
  {
    flag: 'port',
    env: ['PORT'],
    kind: 'int',
    arg: '<port>',
    defaultText: '8080',
    description: 'port for applications and agents (0 = any free port)',
  },
  {
    flag: 'concurrent',
    env: ['CONCURRENT'],
    kind: 'int',
    arg: '<n>',
    defaultText: 'unlimited',
    description: 'most application requests served at once; the rest wait in FIFO order',
  },
  {
    flag: 'max-queue',
    env: ['MAX_QUEUE'],
    kind: 'int',
    arg: '<n>',
    defaultText: '10000',
    description: 'most requests waiting at once; beyond it 503',
  },
  {
    flag: 'block-timeout',
    env: ['BLOCK_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: 'none',
    description: 'longest a Slime-Block request waits (seconds or a duration like 30s, 2m)',
  },
  {
    flag: 'request-timeout',
    env: ['REQUEST_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '60s',
    description: 'longest wait for a response head once an agent has the request (504 past it; 0 = none)',
  },
  {
    flag: 'eject-connect-errors',
    env: ['EJECT_CONNECT_ERRORS'],
    kind: 'int',
    arg: '<n>',
    defaultText: '3',
    description:
      'eject an agent from dispatch after this many consecutive upstream connect failures (0 = never)',
  },
  {
    flag: 'eject-5xx',
    env: ['EJECT_5XX'],
    kind: 'int',
    arg: '<n>',
    defaultText: '0 (off)',
    description: 'eject an agent after this many consecutive 5xx answers or gateway errors (0 = never)',
  },
  {
    flag: 'eject-base-time',
    env: ['EJECT_BASE_TIME'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '30s',
    description: 'first ejection lasts this long; the n-th n times as long',
  },
  {
    flag: 'eject-max-time',
    env: ['EJECT_MAX_TIME'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '5m',
    description: 'no ejection lasts longer',
  },
  {
    flag: 'eject-max-percent',
    env: ['EJECT_MAX_PERCENT'],
    kind: 'int',
    arg: '<percent>',
    defaultText: '50',
    description: 'most agents of one scope group ejected at once, in percent',
  },
  {
    flag: 'heartbeat-timeout',
    env: ['HEARTBEAT_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '10s',
    description: 'drop an agent silent for this long',
  },
  {
    flag: 'drain-timeout',
    env: ['DRAIN_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '30s',
    description: 'on SIGTERM, how long in-flight requests may finish',
  },
  {
    flag: 'trusted-proxies',
    env: ['TRUSTED_PROXIES'],
    kind: 'list',
    arg: '<list>',
    defaultText: 'none',
    description: 'IPs or CIDRs whose X-Forwarded-For is believed (comma or space separated)',
  },
  {
    flag: 'xff',
    env: ['XFF'],
    kind: 'string',
    arg: '<mode>',
    defaultText: 'append',
    description:
      "X-Forwarded-For upstream: append (the client's value, then the peer) or overwrite (the peer only)",
  },
  {
    flag: 'policy',
    env: ['POLICY'],
    kind: 'string',
    arg: '<file>',
    defaultText: '<state-dir>/policy.yaml, else none',
    description:
      'policy file (JSON or YAML): access rules, rate limits; PUT /policy persists to it; SIGHUP re-reads it',
  },
  stateDir,
  {
    flag: 'admin-host',
    env: ['ADMIN_HOST'],
    kind: 'string',
    arg: '<host>',
    defaultText: '127.0.0.1',
    description: 'address of the admin API, /metrics and the status page',
  },
  {
    flag: 'admin-port',
    env: ['ADMIN_PORT'],
    kind: 'int',
    arg: '<port>',
    defaultText: '8081',
    description: 'port of the admin API (0 = a free one)',
  },
  {
    flag: 'admin-token',
    env: ['ADMIN_TOKEN'],
    kind: 'string',
    arg: '<token>',
    defaultText: 'none (admin API off)',
    description: 'bearer token for the admin API; without it only the client port runs',
  },
  {
    flag: 'ready-requires-agent',
    env: ['READY_REQUIRES_AGENT'],
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'false',
    description: 'GET /readyz answers 503 until at least one agent is connected',
  },
  {
    flag: 'accept-go-tokens',
    env: ['ACCEPT_GO_TOKENS'],
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'false',
    description:
      'migration from the Go Slime Proxy: accept its agent tokens, and serve its agents (long-poll protocol)',
  },
  ...hubTlsOptions,
  redisUrl,
  {
    flag: 'redis-timeout',
    env: ['REDIS_TIMEOUT'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: '50ms',
    description: 'longest a rate-limit check waits for Redis before the fail mode answers',
  },
  {
    flag: 'redis-fail-mode',
    env: ['REDIS_FAIL_MODE'],
    kind: 'string',
    arg: '<mode>',
    defaultText: 'fail-open',
    description: 'when Redis is slow or down: fail-open admits, fail-closed answers 503',
  },
  redisPrefix,
  revocationsFile,
  logLevel,
  logFormat,
];

export const HUB_REVOKE_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'jti',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<id>',
    description: 'revoke one token by its id (the jti claim)',
  },
  {
    flag: 'agent',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<name>',
    description: 'revoke every token of this agent name (the sub claim)',
  },
  {
    flag: 'list',
    env: [],
    slimeEnv: false,
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'false',
    description: 'print the deny list (one "jti <id>" or "agent <name>" per line) instead of adding to it',
  },
  redisUrl,
  redisPrefix,
  stateDir,
  revocationsFile,
];

export const HUB_UNREVOKE_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'jti',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<id>',
    description: 'take one token id off the deny list',
  },
  {
    flag: 'agent',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<name>',
    description: 'take an agent name off the deny list',
  },
  redisUrl,
  redisPrefix,
  stateDir,
  revocationsFile,
];

export const HUB_REGISTER_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'secret',
    env: ['SECRET'],
    kind: 'string',
    arg: '<secret>',
    description: 'the hub secret (required)',
  },
  {
    flag: 'name',
    env: ['NAME'],
    kind: 'string',
    arg: '<name>',
    description: 'agent name, the token subject (required)',
  },
  {
    flag: 'age',
    env: ['AGE'],
    kind: 'duration',
    arg: '<duration>',
    defaultText: 'no expiry',
    description: 'token lifetime, e.g. 1h2m3s, 30d, 3600 (seconds)',
  },
  {
    flag: 'scopes',
    env: ['SCOPES'],
    kind: 'list',
    arg: '<list>',
    description: 'scopes the agent serves (Slime-Scope), e.g. a,b',
  },
  {
    flag: 'scope-paths',
    goFlag: 'scopePaths',
    env: ['SCOPEPATHS', 'SCOPE_PATHS'],
    kind: 'list',
    arg: '<list>',
    description: 'the only paths the agent serves, e.g. /x,/y (exact match)',
  },
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

export const HUB_STATUS_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'admin',
    env: ['ADMIN_URL'],
    slimeEnv: 'SLIME_ADMIN_URL',
    kind: 'string',
    arg: '<url>',
    defaultText: 'http://127.0.0.1:8081',
    description: "the hub's admin API URL",
  },
  {
    flag: 'admin-token',
    env: ['ADMIN_TOKEN'],
    kind: 'string',
    arg: '<token>',
    description: 'bearer token for the admin API (required)',
  },
  {
    flag: 'json',
    env: [],
    slimeEnv: false,
    kind: 'bool',
    arg: '[bool]',
    defaultText: 'false',
    description: 'print the raw /status JSON instead of a table',
  },
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

export const CONFIG_OPTION: OptionSpec = {
  flag: 'config',
  env: [],
  slimeEnv: false,
  kind: 'string',
  arg: '<file>',
  defaultText: '$HOME/.slime.yaml if present',
  description: 'JSON or YAML file of flag names to values (flags and env vars win)',
};

/** Every flag any command takes: the vocabulary of config files and argv normalization. */
export const ALL_OPTIONS: readonly OptionSpec[] = [
  CONFIG_OPTION,
  ...HUB_RUN_OPTIONS,
  ...HUB_REGISTER_OPTIONS,
  ...HUB_REVOKE_OPTIONS,
  ...HUB_UNREVOKE_OPTIONS,
  ...AGENT_RUN_OPTIONS,
  ...HUB_STATUS_OPTIONS,
  ...DEMO_OPTIONS,
];
