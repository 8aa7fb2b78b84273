// The single table (its parts in *-option-specs.ts) behind flags, env vars, config keys, --help
// and docs/cli.md. Go spellings and run-together env names (APPPASSWORD) come first where the Go
// version used them. Every setting also reads SLIME_<FLAG> (see slimeEnvName), which wins over
// the names listed in `env`.

import { AGENT_RUN_OPTIONS, DEMO_OPTIONS } from './agent-option-specs.js';
import { HUB_EJECT_OPTIONS } from './eject-option-specs.js';
import {
  HUB_APP_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_STATUS_OPTIONS,
  HUB_UNREVOKE_OPTIONS,
} from './hub-tool-option-specs.js';
import type { OptionSpec } from './settings.js';
import {
  logFormat,
  logLevel,
  redisPrefix,
  redisUrl,
  revocationsFile,
  stateDir,
} from './shared-option-specs.js';
import { HUB_TLS_OPTIONS } from './tls-option-specs.js';

export {
  AGENT_RUN_OPTIONS,
  DEMO_OPTIONS,
  HUB_APP_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_STATUS_OPTIONS,
  HUB_UNREVOKE_OPTIONS,
};

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
    flag: 'max-upgrades',
    env: ['MAX_UPGRADES'],
    kind: 'int',
    arg: '<n>',
    defaultText: '1024',
    description:
      'most upgraded streams (client WebSockets) one agent carries at once; they hold no --numWorker or --concurrent slot after the 101 (0 = no client upgrades)',
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
  ...HUB_EJECT_OPTIONS,
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
  ...HUB_TLS_OPTIONS,
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
  ...HUB_APP_OPTIONS,
  ...DEMO_OPTIONS,
];
