import { describe, expect, it } from 'vitest';
import { inTurn } from '../../src/admin/policy-commit.js';
import { createPolicyEngine } from '../../src/policy/engine.js';

describe('inTurn', () => {
  it('runs the admin changes of one engine one after another, whichever route queued them', async () => {
    const engine = createPolicyEngine({});
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = inTurn(engine, async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      order.push('first ends');
    });
    const second = inTurn(engine, async () => {
      order.push('second');
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['first starts']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first starts', 'first ends', 'second']);
    await engine.close();
  });

  it('a failed change does not stop the next one', async () => {
    const engine = createPolicyEngine({});
    const failed = inTurn(engine, async () => {
      throw new Error('rejected');
    });
    await expect(failed).rejects.toThrow('rejected');
    await expect(inTurn(engine, async () => 'next')).resolves.toBe('next');
    await engine.close();
  });

  it('changes of different engines do not wait for each other', async () => {
    const a = createPolicyEngine({});
    const b = createPolicyEngine({});
    const held = inTurn(a, () => new Promise<void>(() => {}));
    await expect(inTurn(b, async () => 'b')).resolves.toBe('b');
    void held;
    await a.close();
    await b.close();
  });
});
