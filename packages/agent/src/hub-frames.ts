import type { FrameOf, StreamTable } from '@slime/protocol';
import type { StreamCall } from './stream-call.js';

/** The frames a hub sends on a stream it opened. */
export type HubStreamFrame = FrameOf<'DATA' | 'END' | 'TRAILERS' | 'WINDOW' | 'RESET'>;

/** Hands a hub frame to its call; a late frame (its call already ended here) is ignored. */
export function deliverToCall(calls: StreamTable<StreamCall>, frame: HubStreamFrame): void {
  const call = calls.route(frame.type, frame.streamId);
  if (call === undefined) return;
  if (frame.type === 'DATA') call.onData(frame.data);
  else if (frame.type === 'WINDOW') call.onWindow(frame.increment);
  else if (frame.type === 'END') call.onEnd();
  else if (frame.type === 'TRAILERS') call.onTrailers(frame.headers);
  else call.onReset();
}
