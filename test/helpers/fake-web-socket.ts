import { decodeFrame, encodeFrame, type Frame, type MuxTimers } from '@slime/protocol';

/**
 * A WebSocket in memory for the unit tests of the hub's AgentConnection and the agent's Session:
 * what the role sends is decoded into `sent`; `frame` plays the peer.
 */
export class FakeWs {
  readonly #listeners = new Map<string, Array<(...args: never[]) => void>>();
  readonly OPEN = 1;
  readyState = 1;
  sent: Frame[] = [];
  pings = 0;
  closedWith: [number, string] | null = null;
  terminated = false;
  send(data: Uint8Array, _options: { binary: boolean }, cb: () => void): void {
    this.sent.push(decodeFrame(data));
    cb();
  }
  ping(): void {
    this.pings++;
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
  terminate(): void {
    this.terminated = true;
  }
  on(event: string, listener: (...args: never[]) => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }
  frame(f: Frame): void {
    for (const l of this.#listeners.get('message') ?? [])
      (l as (...a: unknown[]) => void)(encodeFrame(f), true);
  }
}

/** Real timers in the MuxTimers shape (tests switch them with vi.useFakeTimers). */
export const realMuxTimers: MuxTimers = {
  now: () => Date.now(),
  schedule: (fn) => setImmediate(fn),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
