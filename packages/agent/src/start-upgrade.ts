import type { RequestFrame } from '@slime/protocol';
import type { Session } from './session.js';
import type { StreamCall } from './stream-call.js';
import { UpgradeCall } from './upgrade-call.js';
import type { CallDeps } from './upstream-call.js';

/** How an upgrade gives its worker slot back: at the 101, not when its tunnel ends. */
export interface UpgradeSlots {
  /** The upstream switched protocols: the slot is free now (the session counted the credit back). */
  slotFreed(owner: Session, call: StreamCall): void;
  /** The tunnel ended: the call leaves its session (no slot, no credit). */
  ended(owner: Session, call: StreamCall): void;
}

/**
 * Starts an UPGRADE stream on a slot the caller already took. The slot is held only until the
 * upstream answers: an upgraded socket may live for hours and must not keep ordinary requests
 * from the worker slots (the hub bounds tunnels per agent with --max-upgrades instead). A refused
 * or failed upgrade frees its slot when its response or RESET is done, like any request.
 */
export function startUpgrade(
  owner: Session,
  frame: RequestFrame,
  deps: CallDeps,
  slots: UpgradeSlots,
): UpgradeCall {
  return new UpgradeCall(
    {
      send: (b) => owner.send(b),
      get congested() {
        return owner.congested;
      },
      waitForDrain: (c) => owner.waitForDrain(c),
      hubWindow: owner.hubWindow,
      agentWindow: owner.agentWindow,
      interimResponses: false,
      upgraded: (c) => {
        owner.callUpgraded(c);
        slots.slotFreed(owner, c);
      },
      finished: (c) => {
        // Before a 101 the call leaves its session first (its END/RESET returned the credit).
        slots.ended(owner, c);
        if (!c.switched) slots.slotFreed(owner, c);
      },
    },
    frame,
    deps,
  );
}
