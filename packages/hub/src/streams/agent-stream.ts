import type { DataFrame, ResetCodeValue, ResetFrame, ResponseFrame, TrailersFrame } from '@slime/protocol';
import type { HubError } from '../errors.js';

/**
 * What an agent connection routes frames to: an ordinary request stream (HubStream) or one that
 * asked to switch protocols (UpgradeStream). Both count the same way until a 101 arrives.
 */
export interface AgentStream {
  readonly id: number;
  /** `upgraded` once a 101 turned the stream into a tunnel (no idle timeout, no credit held). */
  readonly state: 'open' | 'reset-sent' | 'closed' | 'upgraded';
  readonly lastActivity: number;
  onResponse(frame: ResponseFrame): void;
  onData(frame: DataFrame): void;
  onEnd(): void;
  onTrailers(frame: TrailersFrame): void;
  onWindow(increment: number): void;
  onReset(frame: ResetFrame): void;
  agentLost(reason: string): void;
  cancel(reason: string, code?: ResetCodeValue, error?: HubError): void;
  /** The WebSocket drained below its low-water mark. */
  resume(): void;
}
