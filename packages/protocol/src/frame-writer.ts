import { encodeData, encodeDataHead } from './codec.js';
import { Limits } from './constants.js';
import { type Resumable, WriteBudget } from './write-budget.js';

/**
 * Largest DATA payload that consecutive DATA of one stream written within one cork period are
 * merged into (see `writeData`): the protocol's limit, 1 MiB. A body read from a socket arrives in
 * 64 KiB pieces, often many in one turn; fewer, larger frames save the receiver a message, a
 * decode and a write per piece (hub and agent in separate processes, 100 MiB alternating rounds:
 * CPU per 100 MiB upload 250-270 ms at 1 MiB against 310-400 at 256 KiB and 320-460 unmerged;
 * download 350-360 against 360-370 and 410). Nothing leaves later for it: the socket writes
 * all of it at the uncork anyway; a receiver with a DataTap (webSocketMux) gets the payload in
 * pieces as it arrives, one without a tap once the whole frame arrived, at most 1 MiB later.
 */
export const MERGE_DATA_BYTES = Limits.MAX_DATA_BYTES;

/**
 * Most frames one cork period holds before they leave (see `FrameWriterOptions.corkFrames`): one
 * write per 4 small requests still saves most of the system calls of one write each, and the peer
 * starts on a busy turn's first requests while the rest are read.
 */
export const DEFAULT_CORK_FRAMES = 4;

/** The DATA envelope (type and stream id) our accounting counts per frame, as `encodeData` does. */
const DATA_ENVELOPE_BYTES = 5;

/** DATA of one stream held until the cork period ends or another frame is written. */
interface DataRun {
  streamId: number;
  chunks: Uint8Array[];
  length: number;
  /** Flush callbacks of the bytes counted so far (`WriteBudget.queued`). */
  done: Array<() => void>;
}

/** The part of a socket that can hold writes back and release them as one. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * The socket under a WebSocket, for DATA written around the WebSocket library: its frame header
 * and ours in one small write, then the payload as it is (no copy into a frame, no masking copy).
 * Only valid while the library queues nothing of its own (no permessage-deflate, no Blobs).
 */
export interface RawFrameSocket {
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
}

export interface RawDataPath {
  socket: RawFrameSocket;
  /** A client (the agent) masks its frames: with a zero key here. */
  masked: boolean;
  /** Whether the WebSocket is open (else DATA goes through `send`, which reports the failure). */
  open(): boolean;
}

export interface FrameWriterOptions {
  /** Hands one frame to the WebSocket; `done` once it is flushed. */
  send: (bytes: Uint8Array, done: () => void) => void;
  /** The socket under the WebSocket, when it can be corked. */
  socket: Corkable | undefined;
  /** Runs `fn` after the current turn of the event loop (setImmediate). */
  schedule: (fn: () => void) => void;
  highWater: number;
  lowWater: number;
  /** Writes DATA payloads without copying them (see RawFrameSocket); absent: through `send`. */
  raw?: RawDataPath | undefined;
  /**
   * Most frames held in one cork period (default DEFAULT_CORK_FRAMES); one more and the held ones
   * leave at once. Holding a whole busy turn's frames to its end made hub and agent hand work to
   * each other in convoys: with 32 small requests in flight the peer idled while a turn of up to
   * 32 requests was read, and the machine sat 31% idle under wrk -c32 (the lean two-hop floor:
   * 14%). Held to 4: 15% idle and 25% more requests per second at the same CPU per request
   * (bench/probes/idle-share.mjs, 6 alternating rounds: 14,208 against 11,326 req/s, 84.3 against
   * 85.2 µs/req; caps of 8, 16 and 32 fell in between, in that order).
   */
  corkFrames?: number | undefined;
}

/**
 * Writes frames for either end of the protocol. Frames written in one turn of the event loop
 * (REQUEST, DATA and END of a small request; many streams' DATA) leave together, up to
 * `corkFrames` per socket write, instead of one write each: about 20% less CPU per small request
 * (hub, agent and upstream in one process, autocannon 32 connections: 556-622 against 677-746 µs
 * per request). The unflushed bytes are counted as in `WriteBudget`. Pure: the caller injects the
 * socket and the scheduler.
 */
export class FrameWriter<W extends Resumable = Resumable> extends WriteBudget<W> {
  readonly #o: FrameWriterOptions;
  readonly #corkFrames: number;
  #corked = false;
  /** Frames written in this cork period. */
  #held = 0;
  /** Whether an uncork at the end of this turn is scheduled already. */
  #scheduled = false;
  #run: DataRun | null = null;
  readonly #endOfTurn = () => {
    this.#scheduled = false;
    this.#uncork();
  };

  constructor(options: FrameWriterOptions) {
    super(options.highWater, options.lowWater);
    const corkFrames = options.corkFrames ?? DEFAULT_CORK_FRAMES;
    if (!Number.isInteger(corkFrames) || corkFrames < 1) {
      throw new RangeError('options.corkFrames must be a positive integer');
    }
    this.#o = options;
    this.#corkFrames = corkFrames;
  }

  #uncork(): void {
    if (this.#run) this.#emitRun();
    if (!this.#corked) return;
    this.#corked = false;
    this.#o.socket?.uncork();
  }

  write(bytes: Uint8Array): void {
    if (this.#run) this.#emitRun();
    this.#cork();
    this.#o.send(bytes, this.queued(bytes.byteLength));
  }

  /**
   * Writes one DATA frame whose payload is `chunks` back to back (`length` bytes) and returns the
   * bytes it adds to the connection (envelope and payload). On the raw path the chunks go to the
   * socket as they are (the caller must not reuse them); otherwise they are copied into one frame
   * for `send`. On a corked raw path, DATA of the same stream that follows within the cork period
   * (nothing else written in between) joins the same frame, up to MERGE_DATA_BYTES: the socket
   * would write it all at the uncork anyway, so the receiver gets fewer, larger frames for free.
   */
  writeData(streamId: number, chunks: readonly Uint8Array[], length: number): number {
    const raw = this.#o.raw;
    if (!raw?.open()) {
      if (this.#run) this.#emitRun();
      let payload = chunks[0]!;
      if (chunks.length > 1) {
        payload = new Uint8Array(length);
        let at = 0;
        for (const c of chunks) {
          payload.set(c, at);
          at += c.byteLength;
        }
      }
      const frame = encodeData(streamId, payload);
      this.write(frame);
      return frame.byteLength;
    }
    if (!this.#o.socket) {
      this.#writeRaw(raw, streamId, chunks, length, [this.queued(length)]);
      return DATA_ENVELOPE_BYTES + length;
    }
    const run = this.#run;
    if (run && run.streamId === streamId && run.length + length <= MERGE_DATA_BYTES) {
      for (const c of chunks) run.chunks.push(c);
      run.length += length;
      run.done.push(this.queued(length));
      return length;
    }
    if (run) this.#emitRun();
    this.#cork();
    this.#run = { streamId, chunks: [...chunks], length, done: [this.queued(length)] };
    return DATA_ENVELOPE_BYTES + length;
  }

  /** Writes the held DATA as one frame (through `send` if the WebSocket closed meanwhile). */
  #emitRun(): void {
    const run = this.#run!;
    this.#run = null;
    const raw = this.#o.raw;
    if (raw?.open()) {
      this.#writeRaw(raw, run.streamId, run.chunks, run.length, run.done);
      return;
    }
    // The WebSocket reports the failure to `send`; the bytes count as flushed either way.
    for (const d of run.done) d();
    const payload = new Uint8Array(run.length);
    let at = 0;
    for (const c of run.chunks) {
      payload.set(c, at);
      at += c.byteLength;
    }
    this.write(encodeData(run.streamId, payload));
  }

  #writeRaw(
    raw: RawDataPath,
    streamId: number,
    chunks: readonly Uint8Array[],
    length: number,
    done: ReadonlyArray<() => void>,
  ): void {
    const head = encodeDataHead(streamId, length, raw.masked);
    const headDone = this.queued(head.byteLength);
    raw.socket.write(head);
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) raw.socket.write(chunks[i]!);
    raw.socket.write(chunks[last]!, () => {
      headDone();
      for (const d of done) d();
    });
  }

  /**
   * Writes bytes already framed as WebSocket messages (encodeWholeResponse) straight to the socket
   * under the WebSocket, in this turn's corked write. False, writing nothing, without that path.
   */
  writeFramed(wire: Uint8Array): boolean {
    const raw = this.#o.raw;
    if (!raw?.open()) return false;
    if (this.#run) this.#emitRun();
    this.#cork();
    raw.socket.write(wire, this.queued(wire.byteLength));
    return true;
  }

  /** Called before each frame (a DATA run counts once); callers have emitted any held run. */
  #cork(): void {
    const socket = this.#o.socket;
    if (!socket) return;
    if (this.#corked) {
      if (++this.#held <= this.#corkFrames) return;
      // a full batch leaves now; this frame opens the next one
      socket.uncork();
    }
    this.#corked = true;
    this.#held = 1;
    socket.cork();
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#o.schedule(this.#endOfTurn);
    }
  }

  /** Writes what is held now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#uncork();
  }
}
