import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { heapTuningFlag, logHeapTuning } from '../src/heap-tuning.js';

describe('heapTuningFlag', () => {
  it('asks for a growing factor of 4 by default', () => {
    expect(heapTuningFlag([])).toBe('--heap-growing-percent=300');
    expect(heapTuningFlag(['--max-old-space-size=512'])).toBe('--heap-growing-percent=300');
  });

  it.each([['--heap-growing-percent=120'], ['--heap_growing_percent=50']])(
    'leaves a factor chosen on the command line (%s) alone',
    (flag) => {
      expect(heapTuningFlag(['--max-old-space-size=512', flag])).toBeNull();
    },
  );

  it('does not take a longer flag for it', () => {
    expect(heapTuningFlag(['--heap-growing-percentage=1'])).toBe('--heap-growing-percent=300');
  });
});

describe('logHeapTuning', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    return { lines, logger: pino({ level: 'info' }, sink) };
  };
  const ctx = { env: {}, home: '/', stdout: () => {}, stderr: () => {}, exit: () => {} };

  it('says which factor the process runs with', async () => {
    const set = capture();
    logHeapTuning(set.logger, { ...ctx, heapTuning: '--heap-growing-percent=300' });
    const given = capture();
    logHeapTuning(given.logger, { ...ctx, heapTuning: null });
    const none = capture();
    logHeapTuning(none.logger, ctx);
    await new Promise((r) => setImmediate(r));
    expect(set.lines).toMatchObject([
      { msg: 'v8 heap growing factor set', flag: '--heap-growing-percent=300' },
    ]);
    expect(given.lines).toMatchObject([{ msg: 'v8 heap growing factor: as given on the command line' }]);
    expect(none.lines).toEqual([]);
  });
});
