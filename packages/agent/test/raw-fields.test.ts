import { describe, expect, it } from 'vitest';
import { rawFieldList } from '../src/raw-fields.js';

const raw = (...fields: string[]) => fields.map((f) => Buffer.from(f, 'latin1'));

describe('rawFieldList (undici raw head fields as the protocol forwards them)', () => {
  it('lower-cases names and keeps the wire order when no name repeats', () => {
    expect(rawFieldList(raw('Content-Type', 'text/plain', 'X-A', '1', 'date', 'now'))).toEqual([
      'content-type',
      'text/plain',
      'x-a',
      '1',
      'date',
      'now',
    ]);
  });

  it("gathers a repeated name's values at its first place, as undici's parsed headers did", () => {
    expect(
      rawFieldList(raw('Set-Cookie', 'a=1', 'X-Other', 'y', 'set-cookie', 'b=2', 'x-other', 'z')),
    ).toEqual(['set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-other', 'y', 'x-other', 'z']);
  });

  it('reads values as Latin-1 (obs-text stays one char per byte) and takes strings as they are', () => {
    expect(rawFieldList([Buffer.from([0x78]), Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'Y', 'z'])).toEqual([
      'x',
      'café',
      'y',
      'z',
    ]);
  });

  it('gives an empty list for no trailers', () => {
    expect(rawFieldList(null)).toEqual([]);
    expect(rawFieldList([])).toEqual([]);
  });
});
