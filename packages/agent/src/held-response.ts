import type { HeaderList, PumpSource } from '@slime/protocol';
import type { CallHost } from './call-types.js';

/**
 * Most body bytes a call holds back with its response head for the rest of the turn, waiting to
 * see whether the response completes in it (then head, body and END leave as one write).
 */
export const HOLD_MAX_BYTES = 16 * 1024;

/**
 * A dispatched response's head and first body chunks, held from undici's `onHeaders` until the
 * end of the turn (a microtask): undici parses a small response's head, body and end from one
 * socket read in one go, so by then the call knows whether it has the whole response. Nothing
 * waits longer than that turn, so streaming responses are not delayed.
 */
export class HeldResponse {
  readonly status: number;
  readonly headers: HeaderList;
  readonly source: PumpSource;
  readonly chunks: Uint8Array[] = [];
  length = 0;

  constructor(status: number, headers: HeaderList, source: PumpSource) {
    this.status = status;
    this.headers = headers;
    this.source = source;
  }

  /** Adds a body chunk; true while the held bytes stay within HOLD_MAX_BYTES. */
  add(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
    return this.length <= HOLD_MAX_BYTES;
  }

  /**
   * Sends the response whole when it fits `window` and the session takes it (not congested, a
   * raw socket path): true when sent, false when it must go frame by frame, or the error when
   * the head is past the protocol's limits (nothing was sent).
   */
  sendWhole(host: CallHost, streamId: number, window: number): boolean | Error {
    if (this.length > window || host.congested || !host.sendWholeResponse) return false;
    try {
      return host.sendWholeResponse(streamId, this.status, this.headers, this.chunks, this.length);
    } catch (err) {
      return err as Error;
    }
  }
}
