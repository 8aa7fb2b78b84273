import { type PolicyDoc, parsePolicyText } from '@slime/hub';
import { describe, expect, it } from 'vitest';
import { startAgent, startUpstream, type TestUpstream } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';
import { type RoutingHub, startRoutingHub } from './helpers/routing-hub.js';

// Issue #18: deny rules on /admin/ (prefix) and /secret (exact) were passed by targets the hub read
// differently from the upstream. Each attempt goes over a raw socket, byte for byte as written here.

interface Answer {
  status: number;
  contentType: string | undefined;
  code: string | undefined;
}

async function rawGet(port: number, target: string): Promise<Answer> {
  const out = await rawExchange(
    port,
    `GET ${target} HTTP/1.1\r\nHost: slime.test\r\nConnection: close\r\n\r\n`,
  );
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(out)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(out)?.[1];
  const body = out.slice(out.indexOf('\r\n\r\n') + 4);
  const code =
    contentType === 'application/problem+json' ? (JSON.parse(body) as { code: string }).code : undefined;
  return { status, contentType, code };
}

interface Setup extends AsyncDisposable {
  hub: RoutingHub;
  upstream: TestUpstream;
  /** Raw targets the upstream received, in order. */
  seen: string[];
}

async function setup(policy: PolicyDoc): Promise<Setup> {
  const seen: string[] = [];
  const upstream = await startUpstream((req, res) => {
    seen.push(req.url ?? '');
    res.end('upstream');
  });
  const hub = await startRoutingHub(policy);
  const agent = await startAgent(hub, upstream, { numWorker: 2 });
  return {
    hub,
    upstream,
    seen,
    async [Symbol.asyncDispose]() {
      await agent.agent.close();
      await hub[Symbol.asyncDispose]();
      await upstream.close();
    },
  };
}

const BYPASSES = ['/admin%2fx', '/secret;x', '/secret/', '/ADMIN/x', '/%2561dmin/x', '/secret%20'];

/** Sends every target; checks each status and that the upstream saw exactly the admitted ones. */
async function expectOutcomes(s: Setup, want: Record<string, number>): Promise<void> {
  const admitted: string[] = [];
  for (const [target, status] of Object.entries(want)) {
    const a = await rawGet(s.hub.port, target);
    expect(a.status, target).toBe(status);
    if (status === 200) {
      admitted.push(target);
      continue;
    }
    expect(a.contentType, target).toBe('application/problem+json');
    expect(a.code, target).toBe(status === 400 ? 'ERR_HUB_MALFORMED_REQUEST' : 'ERR_HUB_FORBIDDEN');
  }
  // The upstream got the admitted targets as sent, and never one the hub refused.
  expect(s.seen).toEqual(admitted);
  expect(s.upstream.count).toBe(admitted.length);
}

const YAML_GLOBAL = `
paths: { rejectAmbiguous: true, caseInsensitive: true }
access:
  - { action: deny, match: { pathPrefix: /admin/ } }
  - { action: deny, match: { path: /secret } }
`;

const YAML_PER_RULE = `
access:
  - action: deny
    match: { pathPrefix: /admin/, rejectAmbiguous: true, caseInsensitive: true }
  - action: deny
    match: { path: /secret, rejectAmbiguous: true, caseInsensitive: true }
`;

function policyOf(yaml: string): PolicyDoc {
  const r = parsePolicyText(yaml, 'policy.yaml');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.policy;
}

describe('path rules that cannot be sidestepped (real sockets)', () => {
  for (const [label, yaml] of [
    ['policy-wide paths section', YAML_GLOBAL],
    ['per-rule options', YAML_PER_RULE],
  ] as const) {
    it(`${label}: every bypass attempt is refused and never reaches the upstream`, async () => {
      await using s = await setup(policyOf(yaml));
      await expectOutcomes(s, {
        '/public': 200,
        '/admin/x': 403,
        '/secret': 403,
        '/admin%2fx': 400,
        '/secret;x': 400,
        '/secret/': 403,
        '/ADMIN/x': 403,
        '/%2561dmin/x': 400,
        '/secret%20': 400,
        '/admin%5Cx': 400,
        '/admin\\x': 400,
        '/secret%00': 400,
        '/public/..%2fadmin/x': 400,
        '/administrator': 200,
        '/public/x?next=/admin/;x': 200,
      });
    });
  }

  it('the options off (the default): only the documented forms match', async () => {
    await using s = await setup({
      access: [
        { action: 'deny', match: { pathPrefix: '/admin/' } },
        { action: 'deny', match: { path: '/secret' } },
      ],
    });
    const want: Record<string, number> = { '/admin/x': 403, '/secret': 403 };
    for (const t of BYPASSES) want[t] = t === '/secret/' ? 403 : 200;
    await expectOutcomes(s, want);
  });

  it('turning the option on under live traffic takes effect at once', async () => {
    await using s = await setup({ access: [{ action: 'deny', match: { pathPrefix: '/admin/' } }] });
    expect((await rawGet(s.hub.port, '/admin%2fx')).status).toBe(200);
    s.hub.engine.update({ ...s.hub.engine.current(), paths: { rejectAmbiguous: true } });
    const a = await rawGet(s.hub.port, '/admin%2fx');
    expect(a).toEqual({
      status: 400,
      contentType: 'application/problem+json',
      code: 'ERR_HUB_MALFORMED_REQUEST',
    });
    expect(s.upstream.count).toBe(1);
  });
});
