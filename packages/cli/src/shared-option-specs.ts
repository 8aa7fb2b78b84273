import type { OptionSpec } from './settings.js';

// Options several commands take, each spelled once.

export const logLevel: OptionSpec = {
  flag: 'log-level',
  env: ['LOG_LEVEL'],
  kind: 'string',
  arg: '<level>',
  defaultText: 'info',
  description: 'log level: fatal, error, warn, info, debug, trace or silent',
};

export const logFormat: OptionSpec = {
  flag: 'log-format',
  env: ['LOG_FORMAT'],
  kind: 'string',
  arg: '<format>',
  defaultText: 'pretty at a terminal, else json',
  description: 'log lines: json (one object per line, for machines) or pretty (readable, ISO times)',
};

export const stateDir: OptionSpec = {
  flag: 'state-dir',
  env: [],
  kind: 'string',
  arg: '<dir>',
  defaultText: 'none',
  description:
    'directory for state the hub keeps: policy.yaml (unless --policy) and revoked.json (unless --revocations-file)',
};

export const redisUrl: OptionSpec = {
  flag: 'redis',
  env: ['REDIS_URL'],
  slimeEnv: 'SLIME_REDIS_URL',
  kind: 'string',
  arg: '<url>',
  defaultText: 'none (this hub alone)',
  description: 'redis:// or rediss:// URL: share rate limits, the policy and revocations with other hubs',
};

export const redisPrefix: OptionSpec = {
  flag: 'redis-prefix',
  env: ['REDIS_PREFIX'],
  kind: 'string',
  arg: '<prefix>',
  defaultText: 'slime:',
  description: 'prefix of every Redis key and channel (hubs with the same prefix share state)',
};

export const revocationsFile: OptionSpec = {
  flag: 'revocations-file',
  env: ['REVOCATIONS_FILE'],
  kind: 'string',
  arg: '<file>',
  defaultText: '<state-dir>/revoked.json, else ./slime-revoked.json',
  description: 'deny list of token ids and agent names when there is no --redis (JSON, re-read on change)',
};

export const otelEndpoint: OptionSpec = {
  flag: 'otel-endpoint',
  env: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
  kind: 'string',
  arg: '<url>',
  defaultText: 'none (tracing off)',
  description:
    'OTLP/HTTP collector: spans are exported there (a base URL gets /v1/traces; OTEL_EXPORTER_OTLP_HEADERS are sent)',
};
