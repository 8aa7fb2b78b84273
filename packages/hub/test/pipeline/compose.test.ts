import { describe, expect, it } from 'vitest';
import { compose } from '../../src/pipeline/compose.js';
import type { Policy, RequestContext } from '../../src/pipeline/context.js';

const ctx = {} as RequestContext;

describe('compose', () => {
  it('runs policies outermost first, each around the rest', async () => {
    const order: string[] = [];
    const around =
      (name: string): Policy =>
      async (_ctx, next) => {
        order.push(`${name}>`);
        await next();
        order.push(`<${name}`);
      };
    await compose([around('a'), around('b')])(ctx);
    expect(order).toEqual(['a>', 'b>', '<b', '<a']);
  });

  it('a policy that calls next() twice is a bug: the second call rejects and the rest runs once', async () => {
    let inner = 0;
    const twice: Policy = async function twice(_ctx, next) {
      await next();
      await next();
    };
    await expect(
      compose([
        twice,
        async () => {
          inner++;
        },
      ])(ctx),
    ).rejects.toThrow(/^policy \w+ called next\(\) twice$/);
    expect(inner).toBe(1);
  });

  it('a policy that is not a function is a TypeError naming its index; a synchronous throw rejects', async () => {
    expect(() => compose([async (_c, n) => n(), 'x' as unknown as Policy])).toThrow(
      new TypeError('policies[1] must be a function'),
    );
    const sync: Policy = () => {
      throw new Error('sync');
    };
    await expect(compose([sync])(ctx)).rejects.toThrow('sync');
  });

  it('passes over a policy while it says it is idle, and runs it again once it is not', async () => {
    const order: string[] = [];
    let idle = true;
    const step: Policy = async (_ctx, next) => {
      order.push('step');
      await next();
    };
    step.idle = () => idle;
    const last: Policy = async () => {
      order.push('last');
    };
    const callsNextTwice: Policy = async function nextTwice(_ctx, next) {
      await next();
      await next();
    };
    const run = compose([step, last]);
    await run(ctx);
    expect(order).toEqual(['last']);
    idle = false;
    await run(ctx);
    expect(order).toEqual(['last', 'step', 'last']);
    // the next-twice check still names the caller when an idle policy stands between
    idle = true;
    await expect(compose([callsNextTwice, step, last])(ctx)).rejects.toThrow(
      'policy nextTwice called next() twice',
    );
    // an idle last policy ends the chain
    await expect(compose([last, step])(ctx)).resolves.toBeUndefined();
  });
});
