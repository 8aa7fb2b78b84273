import type { OptionSpec } from './settings.js';
import { redisPrefix, redisUrl, revocationsFile, stateDir } from './shared-option-specs.js';

// The hub's tools beside `hub run`: minting, revoking and unrevoking tokens, reading the status.

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

/** `--json`, a flag only (no environment variable); `description` says what it prints. */
const json = (description: string): OptionSpec => ({
  flag: 'json',
  env: [],
  slimeEnv: false,
  kind: 'bool',
  arg: '[bool]',
  defaultText: 'false',
  description,
});

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
  json('print the raw /status JSON instead of a table'),
];
/** `slime hub app add|list|rotate|remove`: through the admin API, or on the policy file. */
export const HUB_APP_OPTIONS: readonly OptionSpec[] = [
  ...HUB_STATUS_OPTIONS.filter((s) => s.flag !== 'json'),
  {
    flag: 'policy',
    env: ['POLICY'],
    kind: 'string',
    arg: '<file>',
    description: 'change this policy file instead of a running hub (without --admin-token)',
  },
  stateDir,
  {
    flag: 'name',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<name>',
    description: 'application name: 1-32 letters, digits, _ . or -',
  },
  {
    flag: 'weight',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<number>',
    defaultText: '1',
    description: "the application's share of busy agents relative to other applications (add)",
  },
  {
    flag: 'max-priority',
    env: [],
    slimeEnv: false,
    kind: 'string',
    arg: '<priority>',
    defaultText: 'normal',
    description: 'highest Slime-Priority the application may use: high, normal or low (add)',
  },
  {
    flag: 'max-queue',
    // not the hub's MAX_QUEUE: that is the whole queue's limit, this one application's
    env: [],
    slimeEnv: false,
    kind: 'int',
    arg: '<n>',
    description: "most of the application's requests waiting at once (add)",
  },
  {
    flag: 'overlap',
    env: [],
    slimeEnv: false,
    kind: 'duration',
    arg: '<duration>',
    defaultText: '24h',
    description: 'how long the old keys keep working after a rotation; 0 revokes them at once (rotate)',
  },
  json('print the list as JSON (list)'),
];
