import { once } from 'node:events';
import { CloseCode, ResetCode } from '@slime/protocol';
import { Agent, request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { startHub } from './helpers/harness.js';
import { rawAgent } from './helpers/raw-agent.js';
import { rawExchange } from './helpers/raw-http.js';

type Raw = Awaited<ReturnType<typeof rawAgent>>;

/** Takes the next REQUEST and answers it with `head` and body `chunks`, then END. */
async function answer(
  agent: Raw,
  status: number,
  headers: Array<[string, string]>,
  chunks: string[],
  end = true,
) {
  const req = await agent.next('REQUEST');
  agent.send({ type: 'RESPONSE', streamId: req.streamId, endStream: false, status, headers });
  for (const c of chunks) agent.send({ type: 'DATA', streamId: req.streamId, data: Buffer.from(c) });
  if (end) agent.send({ type: 'END', streamId: req.streamId });
  return req.streamId;
}

describe('the hub enforces the framing of agent responses', () => {
  it('a body longer than its Content-Length never reaches the client, and the next response on the connection is clean', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url, { slots: 2 });
    bad.send({ type: 'CREDIT', streamId: 0, count: 2 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(2));
    // One keep-alive connection carries both requests, as a browser's would.
    const dispatcher = new Agent({ connections: 1, pipelining: 1 });
    try {
      const first = request(`${hub.url}/split`, { dispatcher });
      const streamId = await answer(bad, 200, [['content-length', '5']], ['hel'], false);
      const res = await first; // the head is out
      expect(res.statusCode).toBe(200);
      bad.send({
        type: 'DATA',
        streamId,
        data: Buffer.from('loHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'),
      });
      expect(await bad.next('RESET')).toMatchObject({ streamId, code: ResetCode.PROTOCOL_ERROR });
      // The client gets a broken body and a closed connection, never the extra bytes.
      await expect(res.body.text()).rejects.toThrow();
      bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
      const second = request(`${hub.url}/next`, { dispatcher });
      await answer(bad, 200, [['content-length', '2']], ['ok']);
      const res2 = await second;
      expect(await res2.body.text()).toBe('ok');
      expect(hub.hub.agents()[0]?.framingViolations).toBe(1);
    } finally {
      await dispatcher.close();
      bad.ws.terminate();
    }
  });

  it('a body shorter than its Content-Length closes the client connection instead of leaving it waiting', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/short`);
    const streamId = await answer(bad, 200, [['content-length', '100']], ['only five'], false);
    const res = await pending;
    expect(res.statusCode).toBe(200);
    bad.send({ type: 'END', streamId });
    await expect(res.body.text()).rejects.toThrow();
    expect(hub.hub.agents()[0]?.framingViolations).toBe(1);
    bad.ws.terminate();
  });

  it('a violation found before the head left is a 502 problem', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/early`);
    // head, short body and END in one burst: the violation is known before anything is written
    await answer(bad, 200, [['content-length', '100']], ['five!']);
    const res = await pending;
    expect(res.statusCode).toBe(502);
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_UPSTREAM_ERROR');
    bad.ws.terminate();
  });

  it('a RESPONSE that ends the stream while declaring a body is a 502 problem', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/empty`);
    const req = await bad.next('REQUEST');
    bad.send({
      type: 'RESPONSE',
      streamId: req.streamId,
      endStream: true,
      status: 200,
      headers: [['content-length', '7']],
    });
    const res = await pending;
    expect(res.statusCode).toBe(502);
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_HUB_UPSTREAM_ERROR');
    bad.ws.terminate();
  });

  it.each([
    ['HEAD', 200],
    ['GET', 204],
    ['GET', 304],
  ])('body bytes in a %s %i response are a violation', async (method, status) => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = rawExchange(
      hub.port,
      `${method} /nobody HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    // not hex: the answer carries a random request id, which a short hex body could match
    const streamId = await answer(bad, status, [['content-length', '3']], ['xyz'], false);
    expect(await bad.next('RESET')).toMatchObject({ streamId, code: ResetCode.PROTOCOL_ERROR });
    const out = await pending;
    expect(out).not.toContain('xyz');
    expect(hub.hub.agents()[0]?.framingViolations).toBe(1);
    bad.ws.terminate();
  });

  it('conflicting Content-Length fields in a head are a 502 problem', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url);
    bad.send({ type: 'CREDIT', streamId: 0, count: 1 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(1));
    const pending = request(`${hub.url}/cl`);
    await answer(
      bad,
      200,
      [
        ['content-length', '3'],
        ['content-length', '4'],
      ],
      [],
      false,
    );
    const res = await pending;
    expect(res.statusCode).toBe(502);
    await res.body.dump();
    bad.ws.terminate();
  });

  it('repeated violations close the agent with a protocol error', async () => {
    await using hub = await startHub();
    const bad = await rawAgent(hub.url, { slots: 3 });
    bad.send({ type: 'CREDIT', streamId: 0, count: 3 });
    await vi.waitFor(() => expect(hub.hub.agents()[0]?.credits).toBe(3));
    const closed = once(bad.ws, 'close');
    for (let i = 0; i < 3; i++) {
      const pending = request(`${hub.url}/v${i}`);
      await answer(bad, 204, [], ['x'], false);
      const res = await pending.catch(() => null);
      await res?.body.dump().catch(() => {});
    }
    const [code] = (await closed) as [number];
    expect(code).toBe(CloseCode.PROTOCOL_ERROR);
    await vi.waitFor(() => expect(hub.hub.agents()).toHaveLength(0));
  });
});
