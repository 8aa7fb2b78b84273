import { Limits } from './constants.js';
import { ProtocolError } from './errors.js';

/**
 * Per-stream flow control, as pure arithmetic. A sender may have at most `window` body bytes
 * unacknowledged; the receiver returns bytes with WINDOW frames as its consumer drains them.
 */

/** Window left after sending or receiving `bytes`. Throws ERR_PROTOCOL_FLOW_CONTROL on overrun. */
export function consumeWindow(window: number, bytes: number): number {
  if (bytes > window) {
    throw new ProtocolError(
      'ERR_PROTOCOL_FLOW_CONTROL',
      `${bytes} body bytes exceed the window of ${window}`,
    );
  }
  return window - bytes;
}

/** Window after a WINDOW increment. Throws ERR_PROTOCOL_FLOW_CONTROL past Limits.MAX_WINDOW. */
export function expandWindow(window: number, increment: number): number {
  const next = window + increment;
  if (next > Limits.MAX_WINDOW) {
    throw new ProtocolError('ERR_PROTOCOL_FLOW_CONTROL', `window would grow to ${next}`);
  }
  return next;
}

/**
 * Whether the receiver should send WINDOW now for `consumed` bytes its consumer has taken since the
 * last update. Batching to half the window keeps WINDOW traffic low without stalling the sender.
 */
export function windowUpdateDue(consumed: number, initialWindow: number): boolean {
  return consumed > 0 && consumed >= Math.max(1, Math.floor(initialWindow / 2));
}

/** How many bytes of a `length`-byte chunk may be sent now with `window` left and frame size `maxData`. */
export function sendable(length: number, window: number, maxData: number = Limits.MAX_DATA_BYTES): number {
  return Math.max(0, Math.min(length, window, maxData));
}

/** Credits after the agent grants `count` more. Throws ERR_PROTOCOL_FLOW_CONTROL past Limits.MAX_CREDITS. */
export function grantCredits(credits: number, count: number): number {
  const next = credits + count;
  if (next > Limits.MAX_CREDITS) {
    throw new ProtocolError('ERR_PROTOCOL_FLOW_CONTROL', `credits would grow to ${next}`);
  }
  return next;
}

/** Credits after the hub spends one on a REQUEST. Throws when none is left: the hub must never push. */
export function spendCredit(credits: number): number {
  if (credits < 1) throw new ProtocolError('ERR_PROTOCOL_FLOW_CONTROL', 'no credit left to send a REQUEST');
  return credits - 1;
}

/**
 * Stream ids are opened by the hub in strictly increasing order, so a REQUEST whose id is not above
 * the last one is a duplicate or a replay, while other frames for a lower, closed id are late
 * frames that crossed a RESET and must be ignored.
 */
export function assertNewStreamId(lastId: number, id: number): void {
  if (id <= lastId) {
    throw new ProtocolError(
      'ERR_PROTOCOL_DUPLICATE_STREAM',
      `stream ${id} reuses an id at or below ${lastId}`,
    );
  }
}

/** Next stream id after `lastId`; throws when the u32 space is used up (the connection must be renewed). */
export function nextStreamId(lastId: number): number {
  if (lastId >= Limits.MAX_STREAM_ID) {
    throw new ProtocolError('ERR_PROTOCOL_BAD_STREAM_ID', 'stream ids exhausted on this connection');
  }
  return lastId + 1;
}
