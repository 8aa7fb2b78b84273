import type { Tracer } from '@opentelemetry/api';
import { AGENT_PATH } from '@slime/protocol';
import type { Logger } from 'pino';
import { type HubTlsOptions, validateHubTls } from './hub-tls.js';

export interface AgentOptions {
  /** Agent token minted by `slime hub register`. */
  token: string;
  /**
   * Hub address: http(s)://host:port or ws(s)://host:port[/_slime/agent]; or several, to keep a
   * connection to each while sharing the `numWorker` slots between them.
   */
  hub: string | readonly string[];
  /** How `https://`/`wss://` hubs are verified: a private CA, public-key pins. */
  hubTls?: HubTlsOptions;
  /** Upstream: host:port or a full URL (a path prefix and userinfo are honoured). */
  upstream: string;
  /** Requests served at once. Default 1 (GPU servers usually take one). */
  numWorker?: number;
  /** Stable id for logs and the hub's status page. */
  agentId?: string;
  /** Display name; defaults to the token's subject on the hub side. */
  name?: string;
  /**
   * Send CPU, memory and GPU information in HELLO. The GPUs come from nvidia-smi, run once when the
   * agent starts (the first connect waits for it, 3 s at most); without it, `gpus: []`.
   */
  reportHardware?: boolean;
  /**
   * Replaces the nvidia-smi call behind `reportHardware`: resolves with output in the format of
   * `nvidia-smi --query-gpu=name,memory.total,uuid --format=csv,noheader,nounits` (tests, or other
   * GPU tools). A rejection means no GPUs.
   */
  gpuQuery?: () => Promise<string>;
  /** Send the client's Host to the upstream instead of the upstream's own. */
  preserveHost?: boolean;
  /** First reconnect delay ceiling, ms. Default 500. */
  reconnectBaseMs?: number;
  /** Largest reconnect delay, ms. Default 30000. */
  reconnectMaxMs?: number;
  /** Ping interval, ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Hub silent this long = dead; reconnect. Default 15000. */
  heartbeatTimeoutMs?: number;
  /** Time allowed for the upstream to send its response head, ms. Default 300000. */
  upstreamHeadersTimeoutMs?: number;
  /** Longest pause between upstream body chunks, ms. Default 300000. */
  upstreamBodyTimeoutMs?: number;
  /**
   * How the agent checks an upstream it marked unhealthy (after a refused or reset connection, or a
   * connect timeout): without it, a TCP connect to the upstream's host and port; with a path
   * (e.g. `/health`), an HTTP GET of that path on the upstream's origin, healthy on any status
   * below 500.
   */
  healthPath?: string;
  /** Delay between health probes while the upstream is down, ms; doubles per failure. Default 2000. */
  healthIntervalMs?: number;
  /** Longest delay between health probes, ms. Default 30000 (or `healthIntervalMs` if larger). */
  healthMaxIntervalMs?: number;
  /** Per-stream window granted to the hub for request bodies, bytes. Default 256 KiB. */
  streamWindow?: number;
  logger?: Logger;
  /**
   * OpenTelemetry tracer: each upstream call gets an `upstream <METHOD>` CLIENT span, child of
   * the hub's `traceparent`, and the upstream receives it as its parent. Absent: no spans.
   */
  tracer?: Tracer;
  /** Called when each upstream call ends (metrics). */
  onCallResult?: (result: {
    outcome: string;
    status?: number | undefined;
    latencyMs?: number | undefined;
  }) => void;
  random?: () => number;
  now?: () => number;
}

export interface UpstreamTarget {
  /** scheme://host:port */
  origin: string;
  /** Path prefix without a trailing slash ('' for none). */
  prefix: string;
  /** Basic credentials from userinfo, ready for an Authorization header. */
  authorization: string | undefined;
  /** host:port, for logs and HELLO. */
  label: string;
  /** Speak HTTP/2 in cleartext (prior knowledge) to it: an `h2c://` upstream. */
  h2c?: boolean;
}

/** Accepts http(s):// and ws(s):// hub URLs; returns the WebSocket URL of the agent endpoint. */
export function hubUrl(hub: string): URL {
  let url: URL;
  try {
    url = new URL(hub.includes('://') ? hub : `http://${hub}`);
  } catch {
    throw new TypeError(`hub is not a URL: ${hub}`);
  }
  const schemes: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[url.protocol];
  if (!scheme) throw new TypeError(`hub must be an http(s) or ws(s) URL, got ${url.protocol}`);
  url.protocol = scheme;
  if (url.pathname === '/' || url.pathname === '') url.pathname = AGENT_PATH;
  return url;
}

/** The hub option as a list of agent endpoint URLs; throws on an empty list or a duplicate. */
export function hubList(hub: string | readonly string[]): URL[] {
  const list = typeof hub === 'string' ? [hub] : hub;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError('hub must list at least one URL');
  const seen = new Set<string>();
  return list.map((h) => {
    if (typeof h !== 'string') throw new TypeError('hub must be a string or an array of strings');
    const url = hubUrl(h);
    if (seen.has(url.href)) throw new TypeError(`hub lists ${h} twice`);
    seen.add(url.href);
    return url;
  });
}

/** Accepts host:port or a full http(s) URL. */
export function upstreamTarget(upstream: string): UpstreamTarget {
  let url: URL;
  // h2c://host:port: HTTP/2 in cleartext by prior knowledge (gRPC servers, h2-only upstreams)
  const h2c = /^h2c:\/\//i.test(upstream);
  try {
    url = new URL(
      h2c ? `http://${upstream.slice(6)}` : upstream.includes('://') ? upstream : `http://${upstream}`,
    );
  } catch {
    throw new TypeError(`upstream is not a URL or host:port: ${upstream}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`upstream must be http, https or h2c, got ${url.protocol}`);
  }
  const prefix = url.pathname.replace(/\/+$/, '');
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  return { origin: url.origin, prefix, authorization, label: url.host, ...(h2c ? { h2c: true } : {}) };
}

export function validateAgentOptions(o: AgentOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  if (typeof o.token !== 'string' || o.token.length === 0)
    throw new TypeError('token must be a non-empty string');
  if (typeof o.hub !== 'string' && !Array.isArray(o.hub))
    throw new TypeError('hub must be a string or an array of strings');
  if (typeof o.upstream !== 'string') throw new TypeError('upstream must be a string');
  hubList(o.hub);
  upstreamTarget(o.upstream);
  validateHubTls(o.hubTls);
  if (o.healthPath !== undefined && upstreamTarget(o.upstream).h2c) {
    // the probe speaks HTTP/1.1; an h2c upstream is probed by a TCP connect
    throw new TypeError('healthPath cannot be used with an h2c:// upstream (it is probed by a TCP connect)');
  }
  for (const name of [
    'numWorker',
    'reconnectBaseMs',
    'reconnectMaxMs',
    'heartbeatIntervalMs',
    'heartbeatTimeoutMs',
    'upstreamHeadersTimeoutMs',
    'upstreamBodyTimeoutMs',
    'healthIntervalMs',
    'healthMaxIntervalMs',
    'streamWindow',
  ] as const) {
    const v = o[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer`);
    if (v < 1) throw new RangeError(`${name} must be >= 1`);
  }
  if (o.gpuQuery !== undefined && typeof o.gpuQuery !== 'function')
    throw new TypeError('gpuQuery must be a function');
  if (o.numWorker !== undefined && o.numWorker > 65_535) throw new RangeError('numWorker must be <= 65535');
  if (o.healthPath !== undefined) {
    // origin-form only: a full URL would let the probe talk to another host than the upstream
    if (typeof o.healthPath !== 'string' || !/^\/[\x21-\x22\x24-\x7e]*$/.test(o.healthPath))
      throw new TypeError('healthPath must be a path starting with / (printable ASCII, no spaces or #)');
  }
}
