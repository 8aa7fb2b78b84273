import { encodeFrame, ReceiveWindow, type ResetCodeValue } from '@slime/protocol';
import type { AgentStream } from './agent-stream.js';
import type { CloseOutcome, StreamHost } from './stream-host.js';

export type StreamStateValue = 'open' | 'reset-sent' | 'closed';

/**
 * Where one agent stream stands for its connection: open; reset by us (it stops counting against
 * the hub at once, the agent's answer returns the credit later); or closed, with the outcome told
 * to the host. It also holds the response direction's receive window: WINDOW goes back for bytes
 * the client took, and the window's growth is given back when the stream closes.
 */
export class StreamState {
  readonly #host: StreamHost;
  readonly #stream: AgentStream;
  readonly #window: ReceiveWindow;
  #value: StreamStateValue = 'open';
  #settled: Array<() => void> = [];

  constructor(host: StreamHost, stream: AgentStream) {
    this.#host = host;
    this.#stream = stream;
    this.#window = new ReceiveWindow({
      initial: host.hubWindow,
      budget: host.windowBudget ?? null,
      now: host.clock ?? (() => host.now()),
    });
  }

  get value(): StreamStateValue {
    return this.#value;
  }

  /** Runs `fn` once the stream stops counting against the hub (closed, or reset by us). */
  onSettled(fn: () => void): void {
    if (this.#value !== 'open') fn();
    else this.#settled.push(fn);
  }

  /** DATA arrived; throws ERR_PROTOCOL_FLOW_CONTROL past the window granted to the agent. */
  received(bytes: number): void {
    this.#window.received(bytes);
  }

  /** The client took `bytes` of the response: WINDOW for them (batched) while the stream is open. */
  credit(bytes: number): void {
    if (this.#value !== 'open') return;
    const increment = this.#window.consumed(bytes);
    if (increment > 0) {
      this.#host.send(encodeFrame({ type: 'WINDOW', streamId: this.#stream.id, increment }));
    }
  }

  /** Tells the agent to stop (RESET); the credit comes back with its answer. */
  reset(code: ResetCodeValue, message: string): void {
    this.#value = 'reset-sent';
    this.#host.send(encodeFrame({ type: 'RESET', streamId: this.#stream.id, code, message }));
    this.#runSettled();
  }

  close(outcome: CloseOutcome): void {
    const wasOpen = this.#value === 'open';
    this.#value = 'closed';
    this.#window.release();
    this.#host.streamClosed(this.#stream, outcome);
    if (wasOpen) this.#runSettled();
  }

  #runSettled(): void {
    const fns = this.#settled;
    this.#settled = [];
    for (const fn of fns) fn();
  }
}
