import type { HeaderList, RequestFrame, WindowBudget } from '@slime/protocol';
import type { CallHost } from './call-types.js';
import type { Session } from './session.js';
import type { StreamCall } from './stream-call.js';
import { type CallDeps, UpstreamCall } from './upstream-call.js';

/**
 * What a call sees of its session. One small object per call with its methods on the prototype:
 * an object literal of arrow functions and getters cost a closure per member per request.
 */
class SessionCallHost implements CallHost {
  readonly #owner: Session;
  readonly #finished: (call: StreamCall) => void;
  readonly hubWindow: number;
  readonly agentWindow: number;
  readonly windowBudget: WindowBudget;
  readonly interimResponses: boolean;
  readonly trailers: boolean;

  constructor(owner: Session, finished: (call: StreamCall) => void) {
    this.#owner = owner;
    this.#finished = finished;
    // read once, when the call starts, as the literal did
    this.hubWindow = owner.hubWindow;
    this.agentWindow = owner.agentWindow;
    this.windowBudget = owner.windowBudget;
    this.interimResponses = owner.interimResponses;
    this.trailers = owner.trailers;
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
 * Starts an ordinary REQUEST stream on a slot the caller already took: the call speaks to the
 * upstream through `deps` and to the hub through its session, and `finished` gives the slot back.
 */
export function startCall(
  owner: Session,
  frame: RequestFrame,
  deps: CallDeps,
  finished: (call: StreamCall) => void,
): UpstreamCall {
  return new UpstreamCall(new SessionCallHost(owner, finished), frame, deps);
}
