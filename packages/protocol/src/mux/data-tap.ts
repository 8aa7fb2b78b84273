import { FRAME_HEADER_BYTES, FrameType, Limits } from '../constants.js';

/** Where a DataTap sends what it reads. */
export interface DataTapSink {
  /** WebSocket bytes the tap leaves to the WebSocket library, in order; returns the library's write result. */
  pass(bytes: Uint8Array): boolean;
  /**
   * A piece of a DATA frame's payload, a view into the bytes read (no copy). `frameBytes` is the
   * whole message's size (our envelope included) on the frame's first piece, 0 on the others.
   */
  data(streamId: number, piece: Uint8Array, frameBytes: number): void;
}

const HEAD = 0;
const PASS = 1;
const DATA = 2;
/** The longest WebSocket header (2 + 8 length + 4 mask) and our envelope: enough to decide. */
const MAX_HEAD_BYTES = 14 + FRAME_HEADER_BYTES;

/**
 * Reads the byte stream under a WebSocket before the WebSocket library does, and takes the
 * messages that carry our DATA frames off it: their payloads go to `sink.data` as views into the
 * bytes read, in pieces as they arrive. The library would first gather a 1 MiB message's ~16
 * socket reads into a new buffer (a copy, and external memory for the GC); on a 1 GiB upload that
 * copy was 13% of the agent's CPU. Everything else (other frames, control frames, and any frame
 * the tap is not sure about) passes to the library unchanged, whole frames in order, so it still
 * enforces the WebSocket rules: the tap takes only a final, uncompressed binary frame that is not
 * inside a fragmented message, masked as the library expects from this peer with an all-zero key
 * (our agents mask so; any other key passes), whose length the library would accept, and whose
 * first payload byte is DATA. After a close frame everything passes. The wire format is unchanged:
 * a peer cannot tell the tap is there. Pure: the caller feeds chunks and wires the sink.
 */
export class DataTap {
  readonly #sink: DataTapSink;
  /** Whether frames from the peer are masked (the peer is a client). */
  readonly #masked: boolean;
  #mode = HEAD;
  /** Bytes of the current frame still to come (PASS: all of the frame; DATA: the payload). */
  #left = 0;
  #streamId = 0;
  #frameBytes = 0;
  /** Header bytes of the next frame that arrived at the end of earlier chunks. */
  readonly #head = new Uint8Array(MAX_HEAD_BYTES);
  #carried = 0;
  #fragmented = false;
  #closing = false;
  #off = false;

  constructor(options: { peerMasks: boolean; sink: DataTapSink }) {
    if (typeof options?.peerMasks !== 'boolean') throw new TypeError('options.peerMasks must be a boolean');
    if (typeof options.sink?.pass !== 'function' || typeof options.sink.data !== 'function')
      throw new TypeError('options.sink must have pass and data functions');
    this.#masked = options.peerMasks;
    this.#sink = options.sink;
  }

  /** Bytes read from the socket; returns false when the library asked for a pause. */
  push(chunk: Uint8Array): boolean {
    if (this.#off) return this.#sink.pass(chunk);
    const n = chunk.byteLength;
    let ok = true;
    let at = 0;
    /** Start of the bytes of this chunk still to pass, or -1. */
    let passFrom = -1;
    while (at < n) {
      if (this.#mode === PASS) {
        const take = Math.min(this.#left, n - at);
        if (passFrom < 0) passFrom = at;
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#mode = HEAD;
        if (this.#left === 0 && this.#closing) {
          // the library ignores what follows a close frame; it gets it as it did before
          this.#off = true;
          at = n;
        }
        continue;
      }
      if (this.#mode === DATA) {
        const take = Math.min(this.#left, n - at);
        const first = this.#frameBytes;
        this.#frameBytes = 0;
        this.#left -= take;
        if (this.#left === 0) this.#mode = HEAD;
        this.#sink.data(this.#streamId, chunk.subarray(at, at + take), first);
        at += take;
        continue;
      }
      const used = this.#decide(chunk, at);
      if (used < 0) {
        // not enough of the header yet: carry it to the next chunk
        if (passFrom >= 0) ok = this.#sink.pass(chunk.subarray(passFrom, at)) && ok;
        passFrom = -1;
        const keep = chunk.subarray(at);
        this.#head.set(keep, this.#carried);
        this.#carried += keep.byteLength;
        at = n;
        continue;
      }
      if (this.#mode === PASS) {
        if (this.#carried > 0) {
          if (passFrom >= 0) ok = this.#sink.pass(chunk.subarray(passFrom, at)) && ok;
          passFrom = -1;
          // the library keeps what it is given: a copy of the carried bytes, not our buffer
          ok = this.#sink.pass(this.#head.slice(0, this.#carried)) && ok;
          this.#left -= this.#carried;
        }
        if (this.#off) {
          if (passFrom < 0) passFrom = at;
          at = n;
        }
      } else {
        if (passFrom >= 0) ok = this.#sink.pass(chunk.subarray(passFrom, at)) && ok;
        passFrom = -1;
        at += used - this.#carried;
      }
      this.#carried = 0;
    }
    if (passFrom >= 0) ok = this.#sink.pass(chunk.subarray(passFrom, at)) && ok;
    return ok;
  }

  /**
   * Reads the next frame's header (the carried bytes, then `chunk` from `at`) and sets the mode.
   * Returns the header bytes it took (DATA: WebSocket header and envelope), or -1 when more bytes
   * are needed to decide. A PASS frame takes nothing: all of it, header included, passes.
   */
  #decide(chunk: Uint8Array, at: number): number {
    const carried = this.#carried;
    const head = this.#head;
    const avail = carried + chunk.byteLength - at;
    const byte = (i: number) => (i < carried ? head[i]! : chunk[at + i - carried]!);
    if (avail < 2) return -1;
    const b0 = byte(0);
    const b1 = byte(1);
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const h = 2 + ext + (masked ? 4 : 0);
    if (avail < h) return -1;
    let length = len7;
    if (ext === 2) length = (byte(2) << 8) | byte(3);
    else if (ext === 8) {
      if ((byte(2) | byte(3) | byte(4) | byte(5)) !== 0) {
        // beyond any limit: the library refuses it, and nothing after it is read
        this.#pass(h, 0);
        this.#off = true;
        return 0;
      }
      length = ((byte(6) << 24) | (byte(7) << 16) | (byte(8) << 8) | byte(9)) >>> 0;
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    let take =
      fin &&
      (b0 & 0x70) === 0 &&
      opcode === 2 &&
      !this.#fragmented &&
      masked === this.#masked &&
      length > FRAME_HEADER_BYTES &&
      length <= Limits.MAX_FRAME_BYTES;
    if (take && masked) take = (byte(h - 4) | byte(h - 3) | byte(h - 2) | byte(h - 1)) === 0;
    if (take) {
      if (avail < h + FRAME_HEADER_BYTES) return -1;
      take = byte(h) === FrameType.DATA;
    }
    if (!take) {
      if (opcode === 8) this.#closing = true;
      else if (opcode < 8) this.#fragmented = opcode === 0 ? !fin : !fin || this.#fragmented;
      this.#pass(h, length);
      return 0;
    }
    this.#streamId = ((byte(h + 1) << 24) | (byte(h + 2) << 16) | (byte(h + 3) << 8) | byte(h + 4)) >>> 0;
    this.#mode = DATA;
    this.#left = length - FRAME_HEADER_BYTES;
    this.#frameBytes = length;
    return h + FRAME_HEADER_BYTES;
  }

  #pass(h: number, length: number): void {
    this.#mode = PASS;
    this.#left = h + length;
  }
}
