import { describe, expect, it } from 'vitest';
import { DEFAULT_CORK_FRAMES, FrameWriter } from '../src/frame-writer.js';

/**
 * A corkable socket that logs cork, uncork and the frames it is given, as a Node socket would
 * release them: frames given while corked leave at the uncork that brings the count back to 0.
 */
function setup(corkFrames?: number) {
  const log: string[] = [];
  const released: number[][] = [];
  let held: number[] = [];
  let corked = 0;
  const scheduled: Array<() => void> = [];
  const socket = {
    cork: () => {
      corked++;
      log.push('cork');
    },
    uncork: () => {
      corked--;
      log.push('uncork');
      if (corked === 0 && held.length) {
        released.push(held);
        held = [];
      }
    },
  };
  const writer = new FrameWriter({
    send: (bytes, done) => {
      if (corked > 0) held.push(bytes[0]!);
      else released.push([bytes[0]!]);
      done();
    },
    socket,
    schedule: (fn) => scheduled.push(fn),
    highWater: 1 << 20,
    lowWater: 0,
    ...(corkFrames === undefined ? {} : { corkFrames }),
  });
  const frame = (n: number) => new Uint8Array([n, 0, 0, 0, 0]);
  const endTurn = () => {
    for (const fn of scheduled.splice(0)) fn();
  };
  return { writer, log, released, scheduled, frame, endTurn, corked: () => corked };
}

describe('FrameWriter cork periods', () => {
  it('holds up to corkFrames frames, then lets them go at once, in order', () => {
    const t = setup(3);
    for (let i = 1; i <= 7; i++) t.writer.write(t.frame(i));
    // two full batches left during the turn; the seventh frame waits for the turn's end
    expect(t.released).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.corked()).toBe(1);
    t.endTurn();
    expect(t.released).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(t.corked()).toBe(0);
  });

  it('schedules one uncork per turn, however many batches left early', () => {
    const t = setup(2);
    for (let i = 1; i <= 6; i++) t.writer.write(t.frame(i));
    expect(t.scheduled).toHaveLength(1);
    t.endTurn();
    expect(t.corked()).toBe(0);
    // the next turn corks and schedules again
    t.writer.write(t.frame(7));
    expect(t.scheduled).toHaveLength(1);
    expect(t.corked()).toBe(1);
    t.endTurn();
    expect(t.released.at(-1)).toEqual([7]);
  });

  it('by default holds a turn of up to DEFAULT_CORK_FRAMES frames in one write', () => {
    const t = setup();
    const n = DEFAULT_CORK_FRAMES;
    expect(n).toBeGreaterThan(1);
    for (let i = 1; i <= n; i++) t.writer.write(t.frame(i));
    expect(t.released).toEqual([]);
    t.writer.write(t.frame(n + 1));
    expect(t.released).toEqual([Array.from({ length: n }, (_, i) => i + 1)]);
    t.endTurn();
    expect(t.released.at(-1)).toEqual([n + 1]);
  });

  it('flush() lets the held frames go before the turn ends', () => {
    const t = setup(8);
    t.writer.write(t.frame(1));
    t.writer.write(t.frame(2));
    t.writer.flush();
    expect(t.released).toEqual([[1, 2]]);
    expect(t.corked()).toBe(0);
    // the stale end-of-turn callback finds nothing corked
    t.endTurn();
    expect(t.log.filter((e) => e === 'uncork')).toHaveLength(1);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses corkFrames %s', (corkFrames) => {
    expect(() => setup(corkFrames)).toThrow(/options\.corkFrames must be a positive integer/);
  });
});
