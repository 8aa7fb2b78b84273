import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { OutlierOptions } from './dispatch/outlier-ejection.js';
import { invalidOption } from './errors.js';
import { XFF_MODES, type XffMode } from './http/forwarded.js';
import { assertTlsPair, type TlsPair } from './tls/tls-options.js';

export interface HubOptions {
  /** HMAC secret agent tokens are signed with. Required. */
  secret: string;
  /** Earlier secrets whose tokens are still accepted during a rollover (see docs/deploy.md). */
  previousSecrets?: readonly string[];
  /** When set, applications must send it in Slime-App-Password. */
  appPassword?: string;
  /** Listen address for applications and agents. Default 0.0.0.0. */
  host?: string;
  /** Listen port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Most application requests served at once; the rest wait in FIFO order. Default unlimited. */
  concurrent?: number;
  /** Most requests waiting (Slime-Block and --concurrent) at once; beyond it 503. Default 10000. */
  maxQueue?: number;
  /** Longest a Slime-Block request waits, in ms. Default: until the client leaves. */
  blockTimeoutMs?: number;
  /**
   * Longest time from handing a request to an agent (or URL endpoint) to its response head, ms;
   * past it the stream is cancelled and the client gets 504. 0 = none. Default 60000. The
   * policy file's router rules can set their own (`requestTimeout`).
   */
  requestTimeoutMs?: number;
  /**
   * Passive outlier ejection: agents whose answers are consecutive connect failures (default 3)
   * or, when enabled, 5xx/gateway errors are taken out of dispatch for a growing time.
   */
  outlierDetection?: OutlierOptions;
  /** How often the hub pings each agent, ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** An agent silent for this long is dropped, ms. Default 10000. */
  heartbeatTimeoutMs?: number;
  /** A stream with no frame for this long is reset (504), ms. Default 300000. */
  streamIdleTimeoutMs?: number;
  /** How long close() lets in-flight requests finish before terminating, ms. Default 30000. */
  drainTimeoutMs?: number;
  /** Per-stream window the hub grants agents for response bodies, bytes. Default 256 KiB. */
  streamWindow?: number;
  /** Max request header bytes from applications (node's maxHeaderSize). Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Peers whose X-Forwarded-For is believed for the client address that access rules and rate
   * limits see (IPs or CIDRs), unless the policy names its own. Default none.
   */
  trustedProxies?: readonly string[];
  /**
   * X-Forwarded-For sent upstream: `append` (default) keeps the client's value and adds the socket
   * peer; `overwrite` sends only the socket peer, for upstreams that read the leftmost entry.
   */
  xff?: XffMode;
  /**
   * Serve applications and agents over TLS (1.2 and later, AEAD suites only) with this PEM
   * certificate chain and key; `Hub.reloadTls` swaps them without dropping connections.
   */
  tls?: TlsPair;
  /** Serve HTTP/2 too: by ALPN over TLS, by prior knowledge in cleartext. Default true. */
  http2?: boolean;
  /**
   * OpenTelemetry tracer (from an SDK's provider): each request gets a SERVER span and a
   * `slime.dispatch` span per try, which the agent (and through it the upstream) receives as the
   * `traceparent` parent. Absent: no spans, and `traceparent` passes through untouched.
   */
  tracer?: Tracer;
  /** pino logger; silent when absent. */
  logger?: Logger;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
  /** Randomness in [0, 1) for weighted routes and shaping; injectable for tests. Default Math.random. */
  random?: () => number;
  /** Checks a token id (jti) or agent name against a deny list. */
  isRevoked?: (claims: { jti: string; sub: string }) => boolean;
  /**
   * Rolling migration from the Go Slime Proxy: accept its agent tokens (AES-GCM, base32) from our
   * agents, and serve its agents' long-poll protocol (`POST /v1/agent/join|accept|submit`). Off
   * by default; turn it off once no Go agent or Go token is left. Default false.
   */
  acceptGoTokens?: boolean;
  /**
   * Upgraded streams (client WebSockets...) one agent connection may carry at once. An upgraded
   * stream holds no worker slot and no `concurrent` slot once its upstream answered 101; it counts
   * here instead. 0 turns client upgrades off (501). Default 1024.
   */
  maxUpgrades?: number;
}

function positiveInt(options: Record<string, unknown>, name: string, min = 1): void {
  const v = options[name];
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidOption(name, 'must be an integer');
  if (v < min) throw invalidOption(name, `must be >= ${min}`);
}

/**
 * Validates options up front so that a bad value fails at construction: a HubError
 * ERR_HUB_INVALID_OPTION whose `option` names it.
 */
export function validateHubOptions(options: HubOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  if (
    options.previousSecrets !== undefined &&
    (!Array.isArray(options.previousSecrets) ||
      options.previousSecrets.some((s) => typeof s !== 'string' || s.length === 0))
  ) {
    throw invalidOption('previousSecrets', 'must be an array of non-empty strings');
  }
  if (typeof options.secret !== 'string' || options.secret.length === 0) {
    throw invalidOption('secret', 'must be a non-empty string');
  }
  if (options.appPassword !== undefined && typeof options.appPassword !== 'string') {
    throw invalidOption('appPassword', 'must be a string');
  }
  if (options.host !== undefined && typeof options.host !== 'string')
    throw invalidOption('host', 'must be a string');
  const o = options as unknown as Record<string, unknown>;
  positiveInt(o, 'port', 0);
  if (options.port !== undefined && options.port > 65535) throw invalidOption('port', 'must be <= 65535');
  for (const name of [
    'concurrent',
    'maxQueue',
    'blockTimeoutMs',
    'heartbeatIntervalMs',
    'heartbeatTimeoutMs',
    'streamIdleTimeoutMs',
    'maxHeaderSize',
  ]) {
    positiveInt(o, name);
  }
  positiveInt(o, 'drainTimeoutMs', 0);
  positiveInt(o, 'requestTimeoutMs', 0);
  positiveInt(o, 'streamWindow', 16 * 1024);
  positiveInt(o, 'maxUpgrades', 0);
  if (options.maxUpgrades !== undefined && options.maxUpgrades > 1_000_000)
    throw new RangeError('maxUpgrades must be <= 1000000');
  if (options.trustedProxies !== undefined && !Array.isArray(options.trustedProxies)) {
    throw invalidOption('trustedProxies', 'must be an array of IPs or CIDRs');
  }
  for (const name of ['now', 'random', 'isRevoked'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw invalidOption(name, 'must be a function');
    }
  }
  if (options.acceptGoTokens !== undefined && typeof options.acceptGoTokens !== 'boolean') {
    throw invalidOption('acceptGoTokens', 'must be a boolean');
  }
  if (options.tls !== undefined) assertTlsPair(options.tls);
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new TypeError('tracer must be an OpenTelemetry Tracer');
  }
  if (options.http2 !== undefined && typeof options.http2 !== 'boolean') {
    throw new TypeError('http2 must be a boolean');
  }
  if (options.xff !== undefined && !XFF_MODES.includes(options.xff)) {
    throw invalidOption('xff', `must be one of ${XFF_MODES.join(', ')}`);
  }
}
