import { grantCredits, type ProtocolError, spendCredit } from '@slime/protocol';

/**
 * The credits an agent granted this hub (how many more streams it takes), mirrored from its
 * CREDIT frames, the streams we open and the ones that give theirs back.
 */
export class AgentCredits {
  #count = 0;
  #paused = false;

  get count(): number {
    return this.#count;
  }

  /**
   * The agent refused a stream (no free slot: its slots are shared with other hubs): offer it
   * nothing until its next CREDIT, even with credits left, so a full agent is not tried in a loop.
   */
  get paused(): boolean {
    return this.#paused;
  }

  /** A CREDIT frame; throws ERR_PROTOCOL_FLOW_CONTROL past the protocol's limit. */
  grant(count: number): void {
    this.#count = grantCredits(this.#count, count);
    this.#paused = false;
  }

  /** A stream opened. */
  spend(): void {
    this.#count = spendCredit(this.#count);
  }

  /**
   * A stream ended with END/RESET (or a 101): its credit is back. Returns the error when that
   * takes the credits past the protocol's limit (the agent granted too many), else null.
   */
  returned(): ProtocolError | null {
    try {
      this.#count = grantCredits(this.#count, 1);
      return null;
    } catch (err) {
      return err as ProtocolError;
    }
  }

  /** The agent refused a stream: the credit stays spent and the agent is paused. */
  refused(): void {
    this.#paused = true;
  }

  /** GOAWAY or a closed connection: nothing more may be sent. */
  clear(): void {
    this.#count = 0;
  }
}
