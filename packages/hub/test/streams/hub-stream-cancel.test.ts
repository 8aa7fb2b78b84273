import { decodeFrame, ResetCode } from '@slime/protocol';
import { describe, expect, it } from 'vitest';
import type { HubError } from '../../src/errors.js';
import { HubStream } from '../../src/streams/hub-stream.js';
import type { CloseOutcome, StreamHost } from '../../src/streams/stream-host.js';

/** A connection that records what the stream sends and how it ended. */
function recordingHost() {
  const sent: Uint8Array[] = [];
  const closed: CloseOutcome[] = [];
  const host: StreamHost = {
    id: 'agent-1',
    agentWindow: 65_536,
    hubWindow: 65_536,
    send: (bytes) => sent.push(bytes),
    congested: false,
    waitForDrain: () => {},
    streamClosed: (_stream, outcome) => closed.push(outcome),
    version: 3,
    framingViolation: () => {},
    now: () => 0,
  };
  return { host, sent, closed };
}

describe('HubStream.cancel (a client that left)', () => {
  it('resets the stream at the agent and fails the response with a stackless ERR_HUB_CLIENT_GONE', async () => {
    const { host, sent } = recordingHost();
    const stream = new HubStream(host, 7, { body: null });
    stream.cancel('client went away');
    const err = (await stream.response.catch((e: unknown) => e)) as HubError;
    expect(err).toMatchObject({ code: 'ERR_HUB_CLIENT_GONE', status: 499, message: 'client went away' });
    // a designed outcome: no frames captured (Node formats the stack when it destroys the body)
    expect(err.stack?.split('\n')).toHaveLength(1);
    expect(sent.map((b) => decodeFrame(b))).toContainEqual(
      expect.objectContaining({ type: 'RESET', streamId: 7, code: ResetCode.CANCEL }),
    );
    expect(stream.state).toBe('reset-sent');
  });

  it('keeps the error it is given, stack and all, and cancels only once', async () => {
    const { host, sent } = recordingHost();
    const stream = new HubStream(host, 9, { body: null });
    stream.expire(1000);
    const err = (await stream.response.catch((e: unknown) => e)) as HubError;
    expect(err.code).toBe('ERR_HUB_UPSTREAM_TIMEOUT');
    expect(err.stack?.split('\n').length).toBeGreaterThan(1);
    stream.cancel('client went away');
    expect(sent).toHaveLength(1);
  });
});
