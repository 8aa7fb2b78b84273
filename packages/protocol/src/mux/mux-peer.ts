import type { HeaderList } from '../frames.js';
import type { MuxEndpoint, MuxStream } from './mux-endpoint.js';

/**
 * What either role (the hub's agent connection, the agent's session) offers its streams for
 * writing, taken from its endpoint: the roles extend it so the surface is written once.
 */
export abstract class MuxPeer<S extends MuxStream> {
  protected abstract readonly mux: MuxEndpoint<S>;

  /** True while more than the high-water mark is unflushed: streams stop reading their sources. */
  get congested(): boolean {
    return this.mux.congested;
  }

  send(bytes: Uint8Array): void {
    this.mux.send(bytes);
  }

  /** One DATA frame, its payload written as it is (no copy into a frame, no masking copy). */
  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void {
    this.mux.sendData(streamId, chunks, length);
  }

  /** A complete response in one socket write; false when it must go frame by frame (see MuxEndpoint). */
  sendWholeResponse(
    streamId: number,
    status: number,
    headers: HeaderList,
    body: readonly Uint8Array[],
    length: number,
  ): boolean {
    return this.mux.sendWholeResponse(streamId, status, headers, body, length);
  }

  /** Writes what is held back now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.mux.flush();
  }

  /** `stream.resume()` runs once the socket drained below its low-water mark. */
  waitForDrain(stream: S): void {
    this.mux.waitForDrain(stream);
  }
}
