import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FirstByteDeadline } from '../../src/http/first-byte-deadline.js';
import { manualTimers } from '../pipeline/manual-timers.js';

/** Real connections: the server's side of each is what the deadline watches. */
async function sockets(n: number): Promise<{ server: Server; accepted: Socket[]; clients: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const clients: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = connect(port, '127.0.0.1');
    c.on('error', () => {});
    clients.push(c);
    await once(c, 'connect');
  }
  while (accepted.length < n) await once(server, 'connection');
  return { server, accepted, clients };
}

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup) fn();
  cleanup = [];
});

describe('FirstByteDeadline', () => {
  it('destroys a connection silent for the timeout, not before, with one timer for all', async () => {
    const t = manualTimers();
    let now = 0;
    const deadline = new FirstByteDeadline({ timeoutMs: 1000, timers: t.timers, now: () => now });
    const { server, accepted, clients } = await sockets(3);
    cleanup.push(() => server.close());
    cleanup.push(() => {
      for (const c of clients) c.destroy();
    });
    const [a, b, c] = accepted as [Socket, Socket, Socket];
    deadline.add(a);
    now = 400;
    deadline.add(b);
    now = 600;
    deadline.add(c);
    expect(t.pending).toBe(1);
    // c's first bytes came: it is spared
    deadline.delete(c);
    now = 999;
    t.advance(999);
    expect([a.destroyed, b.destroyed]).toEqual([false, false]);
    now = 1000;
    t.advance(1);
    expect([a.destroyed, b.destroyed]).toEqual([true, false]);
    // re-armed for b, the oldest still waiting
    expect(t.pending).toBe(1);
    now = 1400;
    t.advance(400);
    expect([b.destroyed, c.destroyed]).toEqual([true, false]);
    expect(deadline.size).toBe(0);
    expect(t.pending).toBe(0);
    // a connection after the timer ran dry arms it again
    const { server: s2, accepted: more, clients: c2 } = await sockets(1);
    cleanup.push(() => s2.close());
    cleanup.push(() => c2[0]!.destroy());
    deadline.add(more[0]!);
    expect(t.pending).toBe(1);
    now = 2400;
    t.advance(1000);
    expect(more[0]!.destroyed).toBe(true);
  });

  it('destroyAll ends every waiting connection', async () => {
    const t = manualTimers();
    const deadline = new FirstByteDeadline({ timeoutMs: 1000, timers: t.timers, now: () => 0 });
    const { server, accepted, clients } = await sockets(2);
    cleanup.push(() => server.close());
    cleanup.push(() => {
      for (const c of clients) c.destroy();
    });
    for (const s of accepted) deadline.add(s);
    deadline.destroyAll();
    expect(accepted.map((s) => s.destroyed)).toEqual([true, true]);
    expect(deadline.size).toBe(0);
  });

  it('refuses a timeout that is not a positive number', () => {
    expect(() => new FirstByteDeadline({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new FirstByteDeadline({ timeoutMs: Number.NaN })).toThrow(/firstByteTimeoutMs/);
  });
});
