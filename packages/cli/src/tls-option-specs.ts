import type { OptionSpec } from './settings.js';
import { otelEndpoint } from './shared-option-specs.js';

// TLS and HTTP/2 of `hub run` (docs/tls-http2-tracing.md).
export const HUB_TLS_OPTIONS: readonly OptionSpec[] = [
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
