import type { MuxHandler } from './mux-endpoint.js';
import type { MuxSocket, MuxTimers } from './mux-socket.js';

// Above this many unflushed bytes on the socket, streams stop reading their sources.
export const DEFAULT_HIGH_WATER = 1024 * 1024;
export const DEFAULT_LOW_WATER = 256 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;

export interface MuxEndpointOptions<S> {
  socket: MuxSocket;
  timers: MuxTimers;
  handler: MuxHandler<S>;
  /** The frame the peer opens the connection with: before it, any other frame is a violation. */
  opening: 'HELLO' | 'WELCOME';
  /** Ping at most this often (0: at every `heartbeat()` call). */
  heartbeatMs: number;
  /** `heartbeat()` says `drop` once the peer was silent for longer than this. */
  heartbeatTimeoutMs: number;
  /** When the first ping is due, on the timers' clock (default: at the first `heartbeat()`). */
  firstPingAt?: number;
  /** Unflushed bytes above which the connection is congested (default 1 MiB). */
  highWater?: number;
  /** Unflushed bytes at which waiting streams resume (default 256 KiB). */
  lowWater?: number;
  /** How long a close handshake may take before the socket is dropped (default 2 s). */
  closeTimeoutMs?: number;
  /** Counts bytes handed to the socket (metrics). */
  onSent?: (bytes: number) => void;
  /** Counts message bytes received (metrics). */
  onReceived?: (bytes: number) => void;
}

/** Throws TypeError or RangeError naming the first bad option of a multiplexed endpoint. */
export function checkMuxOptions<S>(options: MuxEndpointOptions<S>): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { socket, timers, handler } = options;
  for (const [name, value, methods] of [
    ['socket', socket, ['listen', 'send', 'ping', 'close', 'terminate']],
    ['timers', timers, ['now', 'schedule', 'setTimeout', 'clearTimeout']],
    ['handler', handler, ['onFrame', 'onFrameError', 'onClosed']],
  ] as const) {
    for (const m of methods) {
      if (typeof (value as unknown as Record<string, unknown> | undefined)?.[m] !== 'function')
        throw new TypeError(`options.${name}.${m} must be a function`);
    }
  }
  const durations = [
    ['heartbeatMs', options.heartbeatMs, 0],
    ['heartbeatTimeoutMs', options.heartbeatTimeoutMs, 1],
    ['closeTimeoutMs', options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 0],
  ] as const;
  for (const [name, value, min] of durations) {
    if (typeof value !== 'number' || !(value >= min) || !Number.isFinite(value))
      throw new RangeError(`options.${name} must be a finite number >= ${min}`);
  }
  if (options.opening !== 'HELLO' && options.opening !== 'WELCOME')
    throw new TypeError("options.opening must be 'HELLO' or 'WELCOME'");
  if (options.firstPingAt !== undefined && !Number.isFinite(options.firstPingAt))
    throw new RangeError('options.firstPingAt must be a finite number');
}
