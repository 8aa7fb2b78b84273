import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FirstByteDeadline } from '../../src/http/first-byte-deadline.js';
import { manualTimers } from '../pipeline/manual-timers.js';

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup) fn();
  cleanup = [];
});

/** Real connections (closed after the test): the server's side of each is what the deadline watches. */
async function sockets(n: number): Promise<Socket[]> {
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
  cleanup.push(() => {
    for (const c of clients) c.destroy();
    server.close();
  });
  return accepted;
}

describe('FirstByteDeadline', () => {
  it('destroys a connection silent for the timeout, not before, with one timer for all', async () => {
    const t = manualTimers();
    let now = 0;
    const deadline = new FirstByteDeadline({ timeoutMs: 1000, timers: t.timers, now: () => now });
    const accepted = await sockets(3);
    const [a, b, c] = accepted as [Socket, Socket, Socket];
    deadline.add(a);
    now = 400;
    deadline.add(b);
    now = 600;
    const waitingC = deadline.add(c);
    expect(t.pending).toBe(1);
    expect(deadline.size).toBe(3);
    // c's first bytes came: it is spared (and a second delete changes nothing)
    deadline.delete(waitingC);
    deadline.delete(waitingC);
    expect(deadline.size).toBe(2);
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
    const more = await sockets(1);
    deadline.add(more[0]!);
    expect(t.pending).toBe(1);
    now = 2400;
    t.advance(1000);
    expect(more[0]!.destroyed).toBe(true);
  });

  it('keeps up with many connections that come and go, destroying only the silent ones', async () => {
    const t = manualTimers();
    let now = 0;
    const deadline = new FirstByteDeadline({ timeoutMs: 1000, timers: t.timers, now: () => now });
    const accepted = await sockets(2);
    const [silent, late] = accepted as [Socket, Socket];
    // a burst: thousands of connections that each send their first bytes, one silent among them
    const fake = {
      destroy: () => expect.unreachable('a connection that spoke was destroyed'),
    } as unknown as Socket;
    for (let i = 0; i < 5000; i++) {
      if (i === 2500) deadline.add(silent);
      deadline.delete(deadline.add(fake));
      now += 0.1;
    }
    expect(deadline.size).toBe(1);
    now = 600;
    const lateWaiting = deadline.add(late);
    now = 1250;
    t.advance(1250);
    expect(silent.destroyed).toBe(true);
    expect(late.destroyed).toBe(false);
    expect(deadline.size).toBe(1);
    deadline.delete(lateWaiting);
    expect(deadline.size).toBe(0);
    now = 1600;
    t.advance(350);
    expect(late.destroyed).toBe(false);
    expect(t.pending).toBe(0);
  });

  it('destroyAll ends every waiting connection', async () => {
    const t = manualTimers();
    const deadline = new FirstByteDeadline({ timeoutMs: 1000, timers: t.timers, now: () => 0 });
    const accepted = await sockets(2);
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
