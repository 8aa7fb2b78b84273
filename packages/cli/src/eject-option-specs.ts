import type { OptionSpec } from './settings.js';

// Passive outlier ejection of `hub run`: agents whose upstream keeps failing leave dispatch for a while.
export const HUB_EJECT_OPTIONS: readonly OptionSpec[] = [
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
];
