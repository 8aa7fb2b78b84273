import { HubError } from '@slime/hub';
import { describe, expect, it } from 'vitest';
import { flagOf, optionError } from '../src/commands/hub-config.js';
import type { CliContext } from '../src/context.js';
import { HUB_RUN_OPTIONS } from '../src/option-specs.js';
import { main } from '../src/program.js';
import { Settings } from '../src/settings.js';

const invalid = (option: string, rest: string) =>
  new HubError('ERR_HUB_INVALID_OPTION', `${option} ${rest}`, { option });

describe('hub option errors in flag terms (from the error’s option, not its message)', () => {
  it.each([
    ['maxQueue', 'max-queue'],
    ['trustedProxies', 'trusted-proxies'],
    ['heartbeatIntervalMs', 'heartbeat-timeout'],
    ['outlierDetection.consecutive5xx', 'eject-5xx'],
    ['admin.port', 'admin-port'],
    ['cluster.timeoutMs', 'redis-timeout'],
    ['policyPath', 'policy'],
  ])('%s is --%s', (option, flag) => {
    expect(flagOf(option)).toBe(flag);
  });

  it('names the source that set the option: the flag, or the env var', () => {
    const flags = new Settings(HUB_RUN_OPTIONS, { flags: { maxQueue: '5' }, env: {} });
    expect(optionError(invalid('maxQueue', 'must be >= 10'), flags)?.message).toBe(
      'invalid option: --max-queue must be >= 10',
    );
    const env = new Settings(HUB_RUN_OPTIONS, { flags: {}, env: { MAX_QUEUE: '5' } });
    expect(optionError(invalid('maxQueue', 'must be >= 10'), env)?.message).toBe(
      'invalid option: env MAX_QUEUE must be >= 10',
    );
    expect(optionError(new TypeError('x'))).toBeUndefined();
  });

  it('a policy error becomes one line per problem', () => {
    const err = new HubError('ERR_HUB_INVALID_POLICY', 'invalid policy', { details: ['a: bad', 'b: bad'] });
    const usage = optionError(err, undefined, 'p.yaml');
    expect(usage?.message).toBe('invalid policy file p.yaml:');
    expect(usage?.details).toEqual(['a: bad', 'b: bad']);
    expect(usage?.exitCode).toBe(2);
  });

  it('`hub run` with a bad --trusted-proxies: exit 2 and one line naming the flag', async () => {
    const err: string[] = [];
    const ctx: CliContext = {
      env: {},
      home: '/nonexistent-slime-home',
      stdout: () => {},
      stderr: (t) => err.push(t),
      exit: () => {},
    };
    const code = await main(['hub', 'run', '--secret', 's', '--port', '0', '--trusted-proxies', 'nope'], ctx);
    expect(code).toBe(2);
    expect(err.join('')).toMatch(
      /^slime: invalid option: --trusted-proxies "nope" is not an IP address or CIDR\n$/,
    );
  });
});
