import type { RequestFrame } from '@slime/protocol';
import type { Session } from './session.js';
import type { StreamCall } from './stream-call.js';
import { type CallDeps, UpstreamCall } from './upstream-call.js';

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
  return new UpstreamCall(
    {
      send: (b) => owner.send(b),
      sendData: (id, chunks, length) => owner.sendData(id, chunks, length),
      get congested() {
        return owner.congested;
      },
      waitForDrain: (c) => owner.waitForDrain(c),
      hubWindow: owner.hubWindow,
      agentWindow: owner.agentWindow,
      windowBudget: owner.windowBudget,
      interimResponses: owner.interimResponses,
      trailers: owner.trailers,
      finished,
    },
    frame,
    deps,
  );
}
