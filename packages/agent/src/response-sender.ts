import type { Readable } from 'node:stream';
import {
  DataPump,
  encodeFrame,
  type HeaderList,
  type PumpSink,
  ResetCode,
  type ResetCodeValue,
  stripHopByHop,
} from '@slime/protocol';
import type { Logger } from 'pino';
import type { CallDeps } from './call-types.js';
import { describeUpstreamError, isConnectFailure, resetCodeFor } from './upstream-errors.js';

/** What an upstream call (ordinary or upgrade) sends its response through: its session. */
export interface ResponseHost {
  send(bytes: Uint8Array): void;
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  readonly congested: boolean;
}

type FieldObject = Record<string, string | string[] | undefined>;

/** Fields as undici and node:http give them (an object) as a raw name/value list. */
export function rawFields(fields: FieldObject): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  return raw;
}

/** An upstream's response fields as the protocol carries them: hop-by-hop fields gone. */
export function responseHeaders(headers: FieldObject): HeaderList {
  return stripHopByHop(rawFields(headers));
}

/**
 * A RESPONSE frame for a head the upstream sent, or the error when the head cannot be one (it is
 * past the protocol's limits): the caller then answers with a RESET instead.
 */
export function responseFrame(streamId: number, status: number, headers: HeaderList): Uint8Array | Error {
  try {
    return encodeFrame({ type: 'RESPONSE', streamId, endStream: false, status, headers });
  } catch (err) {
    return err as Error;
  }
}

/**
 * The sink a call's response pump writes to: the session while the call is open (nothing once it
 * closed), and the session's backpressure.
 */
export function callSink(host: ResponseHost, waitForDrain: () => void, closed: () => boolean): PumpSink {
  return {
    send: (b) => {
      if (!closed()) host.send(b);
    },
    ...(host.sendData
      ? {
          sendData: (id: number, chunks: readonly Uint8Array[], length: number) => {
            if (!closed()) host.sendData?.(id, chunks, length);
          },
        }
      : {}),
    get congested() {
      return host.congested;
    },
    waitForDrain,
  };
}

/** A call as its sink sees it: whether it is over. */
export interface SinkCall {
  readonly closed: boolean;
}

/** A session that sends DATA without a copy and resumes a call after a drain. */
export interface SinkHost<C> extends ResponseHost {
  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  waitForDrain(call: C): void;
}

/**
 * The sink of an ordinary call's pump (what `callSink` builds), as one object with its methods on
 * the prototype instead of a literal of closures per call.
 */
export class CallSink<C extends SinkCall> implements PumpSink {
  readonly #host: SinkHost<C>;
  readonly #call: C;

  constructor(host: SinkHost<C>, call: C) {
    this.#host = host;
    this.#call = call;
  }

  send(bytes: Uint8Array): void {
    if (!this.#call.closed) this.#host.send(bytes);
  }

  sendData(id: number, chunks: readonly Uint8Array[], length: number): void {
    if (!this.#call.closed) this.#host.sendData(id, chunks, length);
  }

  get congested(): boolean {
    return this.#host.congested;
  }

  waitForDrain(): void {
    this.#host.waitForDrain(this.#call);
  }
}

/** The sink for a call's pump on `host`: a CallSink when the host sends DATA without a copy. */
export function callSinkFor<C extends SinkCall>(
  host: ResponseHost & { waitForDrain(call: C): void },
  call: C,
): PumpSink {
  if (host.sendData) return new CallSink(host as SinkHost<C>, call);
  return callSink(
    host,
    () => host.waitForDrain(call),
    () => call.closed,
  );
}

/** The RESPONSE frame of an interim (102, 103) response, or null when it is not forwarded. */
export function interimFrame(
  streamId: number,
  status: number,
  fields: string[],
  log: Pick<Logger, 'debug'>,
): Uint8Array | null {
  if (status !== 102 && status !== 103) return null;
  const frame = responseFrame(streamId, status, stripHopByHop(fields));
  if (!(frame instanceof Error)) return frame;
  log.debug({ err: frame.message, status }, 'interim response not forwarded');
  return null;
}

/**
 * Sends an upstream response body to the hub as DATA within the hub's window and the session's
 * backpressure, then END (TRAILERS in its place when `trailers` gives fields, protocol 3).
 */
export function pumpResponse(
  streamId: number,
  window: number,
  sink: PumpSink,
  body: Readable,
  handlers: { done: () => void; failed: (err: Error) => void; trailers?: () => HeaderList | undefined },
): DataPump {
  const pump = new DataPump(streamId, window, sink, body, handlers.done);
  body.on('data', (chunk: Buffer) => pump.push(chunk));
  body.once('end', () => pump.end(handlers.trailers?.()));
  body.once('error', handlers.failed);
  return pump;
}

/**
 * How a failed upstream call answers the hub: the RESET code and reason for `err`, logged; an
 * upstream found unreachable before any response head is reported first (the agent withdraws its
 * slots), while a reset mid-body is one broken response, not a dead upstream.
 */
export function upstreamFailed(
  err: unknown,
  deps: Pick<CallDeps, 'log' | 'onUpstreamDown'>,
  context: { streamId: number; hubReset: boolean; beforeHead: boolean; what: string },
): { code: ResetCodeValue; reason: string } {
  // The hub's own RESET aborted the call: that is the answer, not news worth a warning.
  if (context.hubReset) return { code: ResetCode.CANCEL, reason: 'cancelled by hub' };
  const code = resetCodeFor(err);
  const reason = describeUpstreamError(err);
  const message = err instanceof Error ? err.message : String(err);
  deps.log.warn({ streamId: context.streamId, code, err: message }, context.what);
  if (context.beforeHead && isConnectFailure(err)) deps.onUpstreamDown?.(reason);
  return { code, reason };
}
