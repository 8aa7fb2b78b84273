import { describe, expect, it } from 'vitest';
import { parseBoolean, parseList } from '../src/lists.js';

describe('parseList', () => {
  it.each([
    ['a:1,b:2', ['a:1', 'b:2']],
    ['a:1 b:2', ['a:1', 'b:2']],
    ['a:1, b:2 ,c:3', ['a:1', 'b:2', 'c:3']],
    ['a:1\n\tb:2', ['a:1', 'b:2']],
    [',,a,,', ['a']],
    ['', []],
  ])('%j', (text, items) => {
    expect(parseList(text)).toEqual(items);
  });

  it('flattens YAML lists whose items may themselves be comma lists', () => {
    expect(parseList(['a', 'b,c', 7])).toEqual(['a', 'b', 'c', '7']);
  });
});

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
    [true, true],
    [false, false],
  ] as const)('%j -> %s', (value, expected) => {
    expect(parseBoolean(value)).toBe(expected);
  });

  it('returns undefined for anything else', () => {
    expect(parseBoolean('maybe')).toBeUndefined();
  });
});
