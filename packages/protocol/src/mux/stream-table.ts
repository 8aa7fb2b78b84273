import { ProtocolError } from '../errors.js';
import { assertNewStreamId, nextStreamId } from '../flow.js';
import { IdTable } from './id-table.js';

/**
 * The open streams of one connection by id, and the highest id opened so far. Ids only grow, so
 * the table tells a late frame (for a stream already closed here: it crossed our RESET or END,
 * and is ignored) from a frame for a stream never opened (a protocol violation).
 */
export class StreamTable<S> {
  // Made with the first stream: a hub holds thousands of idle agent connections that never get one.
  // Not a Map: see IdTable for why a churning Map keeps every request alive through young GCs.
  #streams: IdTable<S> | null = null;
  #last = 0;

  get size(): number {
    return this.#streams === null ? 0 : this.#streams.size;
  }

  /** The highest stream id opened on the connection (0 before any). */
  get lastId(): number {
    return this.#last;
  }

  /** The open streams in id order (a copy: streams may close while the caller walks it). */
  values(): S[] {
    return this.#streams === null ? [] : this.#streams.values();
  }

  get(id: number): S | undefined {
    return this.#streams?.get(id);
  }

  /** The id the next stream this side opens gets. */
  nextId(): number {
    return nextStreamId(this.#last);
  }

  /** Adds a stream this side opened with `nextId()`. */
  open(id: number, stream: S): void {
    this.#last = id;
    this.#streams ??= new IdTable();
    this.#streams.set(id, stream);
  }

  /** The peer opened stream `id`: throws ERR_PROTOCOL_BAD_STREAM_ID unless it is above every earlier id. */
  accept(id: number): void {
    assertNewStreamId(this.#last, id);
    this.#last = id;
  }

  /** Adds a stream the peer opened (`accept` took its id). */
  add(id: number, stream: S): void {
    this.#streams ??= new IdTable();
    this.#streams.set(id, stream);
  }

  /**
   * The stream a frame of `type` is for, or undefined for a late frame. Throws
   * ERR_PROTOCOL_BAD_STREAM_ID for an id never opened.
   */
  route(type: string, id: number): S | undefined {
    const stream = this.#streams?.get(id);
    if (stream === undefined && id > this.#last) {
      throw new ProtocolError('ERR_PROTOCOL_BAD_STREAM_ID', `${type} for unopened stream ${id}`);
    }
    return stream;
  }

  delete(id: number): boolean {
    return this.#streams?.delete(id) ?? false;
  }

  /** Empties the table; returns what was in it. */
  drain(): S[] {
    if (this.#streams === null) return [];
    const streams = this.#streams.values();
    this.#streams.clear();
    return streams;
  }
}
