import {
  encodeFrame,
  type HelloFrame,
  MIN_STREAM_WINDOW,
  negotiateVersion,
  ProtocolError,
  SUPPORTED_VERSIONS,
} from '@slime/protocol';
import type { Logger } from 'pino';

/**
 * Checks an agent's HELLO and builds our WELCOME: the version both speak, and our terms. Throws
 * ProtocolError ERR_PROTOCOL_VERSION or ERR_PROTOCOL_BAD_VALUE (the connection closes).
 */
export function welcome(
  hello: HelloFrame,
  ours: { agentId: string; streamWindow: number; heartbeatMs: number },
): { version: number; bytes: Uint8Array } {
  const version = negotiateVersion(SUPPORTED_VERSIONS, { min: hello.minVersion, max: hello.maxVersion });
  if (hello.streamWindow < MIN_STREAM_WINDOW) {
    // a tiny window would turn every body into a WINDOW ping-pong
    throw new ProtocolError(
      'ERR_PROTOCOL_BAD_VALUE',
      `streamWindow ${hello.streamWindow} is below ${MIN_STREAM_WINDOW}`,
    );
  }
  const bytes = encodeFrame({ type: 'WELCOME', streamId: 0, version, ...ours });
  return { version, bytes };
}

/** What the agent said of itself in its HELLO, for /status (before HELLO: nothing). */
export function helloSnapshot(hello: HelloFrame | null) {
  return {
    slots: hello?.slots ?? 0,
    upstream: hello?.upstream ?? '',
    software: hello?.software ?? '',
    hardware: hardwareOf(hello),
  };
}

/** The hardware report of a HELLO as data (its text when it is no JSON). */
function hardwareOf(hello: HelloFrame | null): unknown {
  if (!hello?.hardware) return null;
  try {
    return JSON.parse(hello.hardware);
  } catch {
    return hello.hardware;
  }
}

/**
 * The 'agent connected' line. `agent`: the connection's id when `log` is the hub's logger (the
 * connection has made no child of its own yet): the line carries the binding the child would add,
 * so it reads the same and an idle agent that logs nothing more never needs a child logger.
 */
export function logConnected(
  log: Logger,
  agent: string | undefined,
  conn: { name: string; version: number },
  hello: HelloFrame,
): void {
  const fields = { name: conn.name, slots: hello.slots, upstream: hello.upstream, version: conn.version };
  log.info(agent === undefined ? fields : { agent, ...fields }, 'agent connected');
}
