import type { Readable } from 'node:stream';
import { DataPump, type HeaderList, type PumpSink } from '@slime/protocol';
import { replayBody } from './replay-body.js';

/**
 * The request direction of one stream: pumps the client's body out as DATA within the agent's
 * window. Until the agent shows it took the request, what was read stays *unconfirmed*: kept, and
 * not yet reported to `onBodyRead`, so a refusal can hand it to the next agent whole. The pump
 * reads at most one window ahead, which bounds what is kept.
 */
export class RequestSender {
  readonly #source: Readable;
  readonly #pump: DataPump;
  readonly #onBodyRead: (bytes: number) => void;
  readonly #onError: () => void;
  readonly #trailers: (() => HeaderList) | undefined;
  #unconfirmed: Uint8Array[] | null = [];
  #read = false;
  #ended = false;

  constructor(
    streamId: number,
    window: number,
    sink: PumpSink,
    source: Readable,
    onBodyRead: (bytes: number) => void,
    onError: () => void,
    trailers?: () => HeaderList,
  ) {
    this.#trailers = trailers;
    this.#source = source;
    this.#onBodyRead = onBodyRead;
    this.#onError = onError;
    this.#pump = new DataPump(streamId, window, sink, source, () => {});
  }

  /** Whether any body byte was read from the client. */
  get bodyRead(): boolean {
    return this.#read;
  }

  /** Whether a refusal now can still be replayed elsewhere. */
  get unconfirmed(): boolean {
    return this.#unconfirmed !== null;
  }

  /** Starts pumping (call after REQUEST was sent). */
  start(): void {
    this.#source.on('data', this.#onData);
    this.#source.once('end', this.#onEnd);
    this.#source.once('error', this.#onError);
  }

  #onData = (chunk: Buffer): void => {
    this.#read = true;
    if (this.#unconfirmed) this.#unconfirmed.push(chunk);
    else this.#onBodyRead(chunk.byteLength);
    this.#pump.push(chunk);
  };

  #onEnd = (): void => {
    this.#ended = true;
    // The client's trailer section is complete once its body ended (version 3 only).
    this.#pump.end(this.#trailers?.());
  };

  /** The WebSocket drained. */
  resume(): void {
    this.#pump.resume();
  }

  /** The agent granted WINDOW. */
  expand(increment: number): void {
    this.#pump.expand(increment);
  }

  /**
   * The agent took the request (or the stream is over): what was read counts as consumed, so the
   * request is no longer re-dispatched, and its bytes are reported once.
   */
  confirm(): void {
    const chunks = this.#unconfirmed;
    if (!chunks) return;
    this.#unconfirmed = null;
    for (const c of chunks) this.#onBodyRead(c.byteLength);
  }

  #detach(): void {
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
    this.#pump.stop();
  }

  /** No more body is wanted: keep draining the client's socket so keep-alive can reuse it. */
  stop(): void {
    this.#detach();
    this.#source.resume();
  }

  /**
   * The agent refused the stream: stop without draining, and return the body for the next try
   * (the chunks already read, then whatever the client has not sent yet).
   */
  handBack(): Readable {
    this.#detach();
    this.#source.pause();
    const chunks = this.#unconfirmed ?? [];
    this.#unconfirmed = null;
    return replayBody(chunks, this.#source, this.#ended);
  }
}
