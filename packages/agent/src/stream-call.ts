import type { HeaderList } from '@slime/protocol';

/** What a session routes a stream's frames to: an ordinary upstream call or an upgrade. */
export interface StreamCall {
  readonly streamId: number;
  start(): void;
  onData(data: Uint8Array): void;
  onEnd(): void;
  onTrailers(headers: HeaderList): void;
  onWindow(increment: number): void;
  /** The hub reset the stream. */
  onReset(): void;
  /** The hub connection is gone. */
  abandon(): void;
  /** The WebSocket drained below its low-water mark. */
  resume(): void;
}
