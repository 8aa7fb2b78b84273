import { describe, expect, it } from 'vitest';
import { compose } from '../../src/pipeline/compose.js';
import { type CompiledSection, createPolicyEngine, type PolicySection } from '../../src/policy/index.js';
import { fakeContext } from './fake-context.js';

/** A section whose value is a label the slot writes into ctx.notes; "bad" is invalid. */
function labelSection(log: string[]): PolicySection {
  return {
    validate: (raw, path) => (raw === 'bad' ? [`${path} must not be bad`] : []),
    compile(raw, previous) {
      log.push(`compile ${String(raw)} after ${String((previous as { label?: string })?.label)}`);
      const label = String(raw);
      const compiled: CompiledSection & { label: string } = {
        label,
        policy: async (ctx, next) => {
          ctx.notes.section = label;
          await next();
        },
        dispose: () => {
          log.push(`dispose ${label}`);
        },
      };
      return compiled;
    },
  };
}

describe('policy sections', () => {
  it('runs the section in force in its slot, carries the previous instance and disposes it', async () => {
    const log: string[] = [];
    const engine = createPolicyEngine({
      policy: { shaping: 'v1' },
      sections: { shaping: labelSection(log) },
    });
    const { shaping, router } = engine.slots();
    expect(router).toEqual([]);
    const run = compose([...shaping, async () => {}]);
    const ctx = fakeContext({});
    await run(ctx);
    expect(ctx.notes.section).toBe('v1');
    engine.update({ shaping: 'v2' });
    const ctx2 = fakeContext({});
    await run(ctx2);
    expect(ctx2.notes.section).toBe('v2');
    await engine.close();
    expect(log).toEqual(['compile v1 after undefined', 'compile v2 after v1', 'dispose v1', 'dispose v2']);
  });

  it('rejects the whole update when a section is invalid, listing core and section errors', () => {
    const log: string[] = [];
    const engine = createPolicyEngine({
      policy: { shaping: 'v1' },
      sections: { shaping: labelSection(log) },
    });
    expect(() => engine.update({ shaping: 'bad', ratelimits: [{ name: 'x' }] })).toThrow(
      /ratelimits\[0\] needs a limit[\s\S]*shaping must not be bad/,
    );
    expect(engine.current()).toEqual({ shaping: 'v1' });
    expect(log).toEqual(['compile v1 after undefined']);
  });

  it('keeps a section without a module as given, with no effect', async () => {
    const engine = createPolicyEngine({ policy: { router: { anything: true } } });
    expect(engine.slots().router).toEqual([]);
    expect(engine.current().router).toEqual({ anything: true });
    expect(engine.section('router')).toBeUndefined();
  });
});
