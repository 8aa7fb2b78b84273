import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { DataPump, type HeaderList, trailerFields, UPGRADE_VERSION } from '@slime/protocol';
import type { AttemptBody } from '../pipeline/context.js';
import type { AgentStream } from './agent-stream.js';
import { replayBody } from './replay-body.js';
import type { StreamHost } from './stream-host.js';

/**
 * The request direction of one stream: reads the client's body (an IncomingMessage, an HTTP/2
 * stream, or a replay of either) and sends it as DATA within the agent's window. Until the agent
 * shows it took the request, what was read stays *unconfirmed*: kept, and not yet reported to the
 * attempt's body, so a refusal hands the attempt a replay (those bytes, then the rest) and no
 * error has to carry a body. The pump reads at most one window ahead, which bounds what is kept.
 */
export class RequestSender {
  readonly #body: AttemptBody;
  readonly #source: Readable;
  readonly #pump: DataPump;
  readonly #onError: () => void;
  readonly #trailers: (() => HeaderList) | undefined;
  #unconfirmed: Uint8Array[] | null = [];
  #read = false;
  #ended = false;

  /** The sender for `stream`'s request body on `host`; null when the request has none. */
  static of(
    host: StreamHost,
    stream: AgentStream,
    body: AttemptBody | null,
    req: IncomingMessage | undefined,
    onError: () => void,
  ): RequestSender | null {
    if (!body?.stream) return null;
    const sink = {
      send: (b: Uint8Array) => host.send(b),
      ...(host.sendData
        ? {
            sendData: (sid: number, chunks: readonly Uint8Array[], length: number) =>
              host.sendData?.(sid, chunks, length),
          }
        : {}),
      get congested() {
        return host.congested;
      },
      waitForDrain: () => host.waitForDrain(stream),
    };
    const trailers =
      host.version >= UPGRADE_VERSION && req ? () => trailerFields(req.rawTrailers) : undefined;
    return new RequestSender(stream.id, host.agentWindow, sink, body, body.stream, onError, trailers);
  }

  private constructor(
    streamId: number,
    window: number,
    sink: ConstructorParameters<typeof DataPump>[2],
    body: AttemptBody,
    source: Readable,
    onError: () => void,
    trailers: (() => HeaderList) | undefined,
  ) {
    this.#body = body;
    this.#source = source;
    this.#onError = onError;
    this.#trailers = trailers;
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
    // A body someone paused (a counter, a refused try) does not start flowing by itself.
    this.#source.resume();
  }

  #onData = (chunk: Buffer): void => {
    this.#read = true;
    if (this.#unconfirmed) this.#unconfirmed.push(chunk);
    else this.#body.read(chunk.byteLength);
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
   * request is no longer re-dispatched.
   */
  confirm(): void {
    const chunks = this.#unconfirmed;
    if (!chunks) return;
    this.#unconfirmed = null;
    let bytes = 0;
    for (const c of chunks) bytes += c.byteLength;
    if (chunks.length > 0) this.#body.read(bytes);
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
   * The agent refused the stream before it took anything: stop without draining, and give the
   * attempt the body for its next try (the chunks already read, then what the client has not
   * sent yet).
   */
  handBack(): void {
    this.#detach();
    this.#source.pause();
    const chunks = this.#unconfirmed ?? [];
    this.#unconfirmed = null;
    this.#body.handBack(replayBody(chunks, this.#source, this.#ended));
  }
}
