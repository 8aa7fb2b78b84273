import { describe, expect, it } from 'vitest';
import { randomRequestId } from '../../src/pipeline/request-id.js';

// the format of crypto.randomUUID(): lowercase hex 8-4-4-4-12, version 4, variant 10xx
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomRequestId', () => {
  it('makes version 4 UUIDs as crypto.randomUUID does, all different, across pool refills', () => {
    const ids = Array.from({ length: 1000 }, () => randomRequestId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
    expect(crypto.randomUUID()).toMatch(UUID_V4);
  });

  it('uses every hex digit in the random positions (the bytes are random, not a counter)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) for (const c of randomRequestId().slice(0, 8)) seen.add(c);
    expect(seen.size).toBe(16);
  });
});
