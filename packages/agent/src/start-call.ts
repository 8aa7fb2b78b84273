import type { HeaderList, RequestFrame, WindowBudget } from '@slime/protocol';
import type { CallHost } from './call-types.js';
import type { Session } from './session.js';
import type { StreamCall } from './stream-call.js';
import { type CallDeps, UpstreamCall } from './upstream-call.js';

/**
 * What the calls of one session see of it: one object per session, its methods on the prototype
 * (an object per call, or a literal of arrow functions and getters, cost allocations per request).
 * The settings come from the session's WELCOME, which precedes every call.
 */
class SessionCallHost implements CallHost {
  readonly #owner: Session;
  readonly #finished: (call: StreamCall) => void;

  constructor(owner: Session, finished: (call: StreamCall) => void) {
    this.#owner = owner;
    this.#finished = finished;
  }

  get hubWindow(): number {
    return this.#owner.hubWindow;
  }

  get agentWindow(): number {
    return this.#owner.agentWindow;
  }

  get windowBudget(): WindowBudget {
    return this.#owner.windowBudget;
  }

  get interimResponses(): boolean {
    return this.#owner.interimResponses;
  }

  get trailers(): boolean {
    return this.#owner.trailers;
  }

  send(bytes: Uint8Array): void {
    this.#owner.send(bytes);
  }

  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void {
    this.#owner.sendData(streamId, chunks, length);
  }

  sendWholeResponse(
    streamId: number,
    status: number,
    headers: HeaderList,
    body: readonly Uint8Array[],
    length: number,
  ): boolean {
    return this.#owner.sendWholeResponse(streamId, status, headers, body, length);
  }

  get congested(): boolean {
    return this.#owner.congested;
  }

  waitForDrain(call: UpstreamCall): void {
    this.#owner.waitForDrain(call);
  }

  finished(call: UpstreamCall): void {
    this.#finished(call);
  }
}

/**
 * Starts ordinary REQUEST streams on slots the caller already took: each call speaks to the
 * upstream through `deps` and to the hub through its session, and `finished(session, call)` gives
 * the slot back. One host per session, made at its first call.
 */
export function callStarter(
  finished: (owner: Session, call: StreamCall) => void,
): (owner: Session, frame: RequestFrame, deps: CallDeps) => UpstreamCall {
  const hosts = new WeakMap<Session, SessionCallHost>();
  return (owner, frame, deps) => {
    let host = hosts.get(owner);
    if (host === undefined) {
      host = new SessionCallHost(owner, (call) => finished(owner, call));
      hosts.set(owner, host);
    }
    return new UpstreamCall(host, frame, deps);
  };
}
