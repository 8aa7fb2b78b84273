import { encodeFrame, type Frame, type FrameOf, ResetCode } from '@slime/protocol';
import { HubError } from '../errors.js';
import type { AgentStream } from '../streams/agent-stream.js';
import { HubStream, type StreamHost } from '../streams/hub-stream.js';
import { withTrailerHeaders } from '../streams/trailers.js';
import { type UpgradeHost, UpgradeStream } from '../streams/upgrade-stream.js';
import type { OpenStreamRequest } from './connection-types.js';

/** The frames an agent sends on a stream. */
export type AgentStreamFrame = FrameOf<'RESPONSE' | 'DATA' | 'END' | 'TRAILERS' | 'WINDOW' | 'RESET'>;

const STREAM_FRAMES = new Set<string>(['RESPONSE', 'DATA', 'END', 'TRAILERS', 'WINDOW', 'RESET']);

export function isAgentStreamFrame(frame: Frame): frame is AgentStreamFrame {
  return STREAM_FRAMES.has(frame.type);
}

/** Hands a frame from the agent to the stream it is for (none: a late frame, ignored). */
export function deliver(stream: AgentStream | undefined, frame: AgentStreamFrame): void {
  if (stream === undefined) return;
  if (frame.type === 'DATA') stream.onData(frame);
  else if (frame.type === 'RESPONSE') stream.onResponse(frame);
  else if (frame.type === 'END') stream.onEnd();
  else if (frame.type === 'WINDOW') stream.onWindow(frame.increment);
  else if (frame.type === 'TRAILERS') stream.onTrailers(frame);
  else stream.onReset(frame);
}

/**
 * The REQUEST frame that opens stream `id`. Throws HubError ERR_HUB_BAD_REQUEST when the request
 * exceeds the frame's limits (too many or too large headers: the client's fault).
 */
export function requestHead(id: number, request: OpenStreamRequest, v3: boolean): Uint8Array {
  try {
    return encodeFrame({
      type: 'REQUEST',
      streamId: id,
      endStream: request.body === null && !request.upgrade,
      ...(request.upgrade ? { upgrade: true as const } : {}),
      method: request.method,
      target: request.target,
      headers: !v3
        ? request.headers
        : request.upgrade
          ? [...request.headers, ['upgrade', request.upgrade.protocols]]
          : withTrailerHeaders(request.headers, request.req),
    });
  } catch (err) {
    throw new HubError('ERR_HUB_BAD_REQUEST', `request cannot be forwarded: ${(err as Error).message}`);
  }
}

/** The stream object for a request: an upgrade (protocol 3) or an ordinary one. */
export function createStream(host: UpgradeHost & StreamHost, id: number, request: OpenStreamRequest) {
  return request.upgrade
    ? new UpgradeStream(host, id, { ...request, upgrade: request.upgrade })
    : new HubStream(host, id, request);
}

/** Cancels the streams that have been quiet for longer than `idleMs` (a tunnel is never idle). */
export function cancelIdle(streams: Iterable<AgentStream>, now: number, idleMs: number): void {
  for (const stream of streams) {
    if (stream.state === 'open' && now - stream.lastActivity > idleMs) {
      stream.cancel('stream idle timeout', ResetCode.IDLE_TIMEOUT);
    }
  }
}
