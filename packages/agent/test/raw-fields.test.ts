import { stripHopByHop } from '@slime/protocol';
import { describe, expect, it } from 'vitest';
import { rawFieldList, responseFieldList } from '../src/raw-fields.js';

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

describe('responseFieldList (a response head as the RESPONSE frame carries it)', () => {
  it('drops hop-by-hop fields and keeps the rest in wire order, lower-cased', () => {
    const fields = raw('Content-Type', 'text/plain', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5');
    expect(
      responseFieldList([...fields, ...raw('Date', 'now', 'X-Custom', 'v', 'Transfer-Encoding', 'chunked')]),
    ).toEqual([
      ['content-type', 'text/plain'],
      ['date', 'now'],
      ['x-custom', 'v'],
    ]);
  });

  it('drops the fields the Connection field names, wherever it stands', () => {
    expect(
      responseFieldList(
        raw('X-Hop', '1', 'X-Keep', '2', 'Connection', 'X-Hop, close', 'Connection', ' x-other ,,'),
      ),
    ).toEqual([['x-keep', '2']]);
  });

  it('gathers the values of a repeated name at its first place', () => {
    expect(responseFieldList(raw('Set-Cookie', 'a=1', 'X-B', 'y', 'set-cookie', 'b=2'))).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-b', 'y'],
    ]);
  });

  it('is stripHopByHop(rawFieldList(raw)) for every mix (Latin-1 values, strings, odd names)', () => {
    const cases: (Buffer | string)[][] = [
      [],
      raw('Connection', 'Upgrade, X-A', 'Upgrade', 'h2c', 'X-A', '1', 'x-b', '2', 'X-A', '3'),
      [Buffer.from('X-\xc0', 'latin1'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'ETag', '"x"', 'etag', '"y"'],
      raw('TE', 'trailers', 'Trailer', 'x-t', 'Proxy-Connection', 'keep-alive', 'Content-Length', '12'),
      raw('constructor', 'a', '__proto__', 'b', 'CONTENT-TYPE', 'c', 'content-type', 'd'),
      raw('Connection', 'content-type', 'Content-Type', 'x', 'Date', 'y'),
    ];
    for (const fields of cases)
      expect(responseFieldList(fields)).toEqual(stripHopByHop(rawFieldList(fields)));
    expect(responseFieldList(null)).toEqual([]);
  });
});
