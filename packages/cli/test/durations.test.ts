import { describe, expect, it } from 'vitest';
import { parseDurationMs, requireDurationMs } from '../src/durations.js';
import { UsageError } from '../src/usage-error.js';

describe('parseDurationMs', () => {
  it.each([
    ['1h2m3s', 3_723_000],
    ['30d', 30 * 86_400_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5h', 5_400_000],
    ['2w', 14 * 86_400_000],
    ['1m30s', 90_000],
    ['250us', 0.25],
    ['0', 0],
    ['30', 30_000],
    ['0.5', 500],
    [' 45s ', 45_000],
  ])('%s -> %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'abc', '10x', 's', '1h 2m', '-5s', '1h-2m', '5s3', 'h1', '1..2s'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it('requireDurationMs names the input and gives examples', () => {
    expect(() => requireDurationMs('soon', '--age')).toThrow(UsageError);
    expect(() => requireDurationMs('soon', '--age')).toThrow(/--age: "soon" is not a duration/);
    expect(requireDurationMs('2m', '--age')).toBe(120_000);
  });
});
