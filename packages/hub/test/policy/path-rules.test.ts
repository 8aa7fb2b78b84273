import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessRule,
  ambiguityOf,
  compileMatch,
  createPolicyEngine,
  lenientPath,
  type MatchSpec,
  normalizePath,
  type PolicyDoc,
  validatePolicy,
  viewOf,
} from '../../src/policy/index.js';
import { fakeContext } from './fake-context.js';
import { send, statusOf } from './run-policies.js';

const DENY: AccessRule[] = [
  { name: 'admin', action: 'deny', match: { pathPrefix: '/admin/' } },
  { name: 'secret', action: 'deny', match: { path: '/secret' } },
];

/** The two deny rules, with options either policy-wide (`paths`) or on each rule's match. */
function policy(opts: { rejectAmbiguous?: boolean; caseInsensitive?: boolean }, where: 'global' | 'rule') {
  if (where === 'global') return { paths: opts, access: DENY.map((r) => ({ ...r, match: { ...r.match } })) };
  return { access: DENY.map((r) => ({ ...r, match: { ...r.match, ...opts } })) };
}

const statusFor = async (doc: PolicyDoc, target: string) =>
  statusOf(await send(createPolicyEngine({ policy: doc }), { target }));

// The table in docs/policy.md ("Which forms match"): rules `pathPrefix: /admin/` and `path: /secret`.
const TABLE: [target: string, off: number, ambiguous: number, caseless: number, both: number][] = [
  ['/admin/x', 403, 403, 403, 403],
  ['/admin', 200, 200, 200, 200],
  ['/administrator', 200, 200, 200, 200],
  ['/secret', 403, 403, 403, 403],
  ['/secret/', 403, 403, 403, 403],
  ['/secret/x', 200, 200, 200, 200],
  ['/public', 200, 200, 200, 200],
  ['/x/../admin/x', 403, 403, 403, 403],
  ['/%61dmin/x', 403, 403, 403, 403],
  ['/admin%2fx', 200, 400, 200, 400],
  ['/admin%2Fx', 200, 400, 200, 400],
  ['/admin%5cx', 200, 400, 200, 400],
  ['/admin\\x', 403, 400, 403, 400],
  ['/secret;x', 200, 400, 200, 400],
  ['/secret%3bx', 200, 400, 200, 400],
  ['/ADMIN/x', 200, 200, 403, 403],
  ['/Secret', 200, 200, 403, 403],
  ['/%2561dmin/x', 200, 400, 200, 400],
  ['/secret%20', 200, 400, 200, 400],
  ['/secret%00', 200, 400, 200, 400],
  ['/secret%2500', 200, 400, 200, 400],
];

describe('which path forms match (docs/policy.md table)', () => {
  for (const where of ['global', 'rule'] as const) {
    it(`options ${where === 'global' ? 'in the top-level paths section' : 'on each rule'}`, async () => {
      for (const [target, off, ambiguous, caseless, both] of TABLE) {
        const got = [
          await statusFor(policy({}, where), target),
          await statusFor(policy({ rejectAmbiguous: true }, where), target),
          await statusFor(policy({ caseInsensitive: true }, where), target),
          await statusFor(policy({ rejectAmbiguous: true, caseInsensitive: true }, where), target),
        ];
        expect(got, target).toEqual([off, ambiguous, caseless, both]);
      }
    });
  }
});

describe('ambiguityOf', () => {
  it('names each kind of ambiguous target', () => {
    const cases: [string, string | undefined][] = [
      ['/admin/x', undefined],
      ['/%61dmin/x', undefined],
      ['/caf%C3%A9', undefined],
      ['/a%25zz', undefined],
      ['/a%20b', undefined],
      ['/admin%2fx', 'encoded slash or backslash'],
      ['/admin%2Fx', 'encoded slash or backslash'],
      ['/admin%5Cx', 'encoded slash or backslash'],
      ['/admin\\x', 'backslash'],
      ['/%2561dmin', 'double percent-encoding'],
      ['/a%252F', 'double percent-encoding'],
      ['/secret;x', 'path parameter (;)'],
      ['/secret%3Bx', 'path parameter (;)'],
      ['/secret%00', 'encoded control character'],
      ['/secret%0d%0a', 'encoded control character'],
      ['/secret%7f', 'encoded control character'],
      ['/secret%zz', 'malformed percent-encoding'],
      ['/secret%2', 'malformed percent-encoding'],
      ['/%c0%afadmin', 'percent-encoding that is not UTF-8'],
      ['/secret%20', 'a segment ending in whitespace'],
      ['/secret%20/x', 'a segment ending in whitespace'],
      ['/secret%C2%A0', 'a segment ending in whitespace'],
    ];
    for (const [raw, want] of cases) expect(ambiguityOf(raw), raw).toBe(want);
  });

  it('the view carries the ambiguity and the lenient reading; plain targets read the same both ways', () => {
    const plain = viewOf(fakeContext({ target: '/a/./b?x=%2f' }));
    expect(plain.ambiguity).toBeUndefined();
    expect(plain.lenientPath).toBe(plain.path);
    const odd = viewOf(fakeContext({ target: '/public/..%2fadmin?q=1' }));
    expect(odd.path).toBe('/public/..%2fadmin');
    expect(odd.ambiguity).toBe('encoded slash or backslash');
    expect(odd.lenientPath).toBe('/admin');
  });
});

describe('lenientPath', () => {
  it('takes the widest reading an upstream might', () => {
    const cases: [string, string][] = [
      ['/admin%2fx', '/admin/x'],
      ['/admin%5cx', '/admin/x'],
      ['/admin\\x', '/admin/x'],
      ['/%2561dmin/x', '/admin/x'],
      ['/%25252561dmin', '/admin'],
      ['/secret;x', '/secret'],
      ['/admin;jsessionid=1/x', '/admin/x'],
      ['/secret%00.txt', '/secret'],
      ['/secret%20', '/secret'],
      ['/secret%20%09/', '/secret/'],
      ['/public/..%2fadmin', '/admin'],
      ['/a/%2e%2e/admin/', '/admin/'],
      ['/a/b/..', '/a/'],
      ['//admin//x', '/admin/x'],
      ['/', '/'],
    ];
    for (const [raw, want] of cases) expect(lenientPath(raw), raw).toBe(want);
  });
});

describe('exact paths and trailing slashes', () => {
  const m = (spec: MatchSpec, target: string) => compileMatch(spec)(viewOf(fakeContext({ target })));

  it('an exact path matches with or without one trailing slash, written either way', () => {
    expect(m({ path: '/secret' }, '/secret/')).toBe(true);
    expect(m({ path: '/secret/' }, '/secret')).toBe(true);
    expect(m({ path: '/secret' }, '/secret//')).toBe(true); // `//` collapses first
    expect(m({ path: '/secret' }, '/secret/x')).toBe(false);
    expect(m({ path: '/' }, '/')).toBe(true);
    expect(m({ path: '/' }, '/x')).toBe(false);
  });

  it('a prefix is a plain string prefix: /admin/ does not cover /admin', () => {
    expect(m({ pathPrefix: '/admin/' }, '/admin')).toBe(false);
    expect(m({ pathPrefix: '/admin/' }, '/admin/')).toBe(true);
    expect(m({ pathPrefix: '/admin' }, '/administrator')).toBe(true);
  });

  it('a rule may opt out of a policy-wide caseInsensitive', () => {
    const strict = compileMatch({ path: '/Secret', caseInsensitive: false }, { caseInsensitive: true });
    expect(strict(viewOf(fakeContext({ target: '/Secret' })))).toBe(true);
    expect(strict(viewOf(fakeContext({ target: '/secret' })))).toBe(false);
    const loose = compileMatch({ pathPrefix: '/API/' }, { caseInsensitive: true });
    expect(loose(viewOf(fakeContext({ target: '/api/v1' })))).toBe(true);
  });
});

describe('rejectAmbiguous', () => {
  it('answers 400 ERR_HUB_MALFORMED_REQUEST naming the kind, never the rule', async () => {
    const e = createPolicyEngine({ policy: policy({ rejectAmbiguous: true }, 'rule') });
    const out = await send(e, { target: '/admin%2fx' });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.err.status).toBe(400);
    expect(out.err.code).toBe('ERR_HUB_MALFORMED_REQUEST');
    expect(out.err.message).toBe('ambiguous request target: encoded slash or backslash');
    expect(out.err.message).not.toMatch(/admin/);
    expect(out.err.headers.connection).toBe('close');
    expect(out.ctx.notes.accessRule).toBe('admin');
    expect(out.ctx.notes.ambiguousTarget).toBe('encoded slash or backslash');
  });

  it('globally: every ambiguous target, even with no access rules, and before any rule', async () => {
    const e = createPolicyEngine({ policy: { paths: { rejectAmbiguous: true } } });
    for (const target of ['/public%2fx', '/a;b', '/a\\b', '/%2541']) {
      const out = await send(e, { target });
      expect(statusOf(out), target).toBe(400);
      expect(out.ctx.notes.accessRule).toBe('paths.rejectAmbiguous');
    }
    expect(statusOf(await send(e, { target: '/public/x?next=%2f;' }))).toBe(200); // the query is not the path
  });

  it('per rule: only ambiguous targets the rule could match are refused', async () => {
    const doc = policy({ rejectAmbiguous: true }, 'rule');
    expect(await statusFor(doc, '/public%2fx')).toBe(200);
    expect(await statusFor(doc, '/other;x')).toBe(200);
    expect(await statusFor(doc, '/public/..%2fadmin/x')).toBe(400);
    expect(await statusFor(doc, '/admin;x/y')).toBe(400);
  });

  it('per rule: an earlier rule cannot let an ambiguous target past the guard', async () => {
    const doc: PolicyDoc = {
      access: [
        { action: 'allow', match: { pathPrefix: '/public/' } },
        { action: 'deny', match: { pathPrefix: '/admin/', rejectAmbiguous: true } },
        { action: 'allow', match: { ip: '127.0.0.1' } },
      ],
    };
    expect(await statusFor(doc, '/public/..%2fadmin/x')).toBe(400);
    expect(await statusFor(doc, '/public/x')).toBe(200);
    expect(await statusFor(doc, '/admin/x')).toBe(403);
  });

  it('per rule on an allow rule: an ambiguous target is not allowed on a reading the upstream may not share', async () => {
    const doc: PolicyDoc = {
      access: [{ action: 'allow', match: { pathPrefix: '/public/', rejectAmbiguous: true } }],
    };
    expect(await statusFor(doc, '/public/x')).toBe(200);
    expect(await statusFor(doc, '/public/..%2fadmin')).toBe(400);
    expect(await statusFor(doc, '/admin')).toBe(403);
  });

  it('per rule with invert: the guard applies when either reading matches the inverted rule', async () => {
    const doc: PolicyDoc = {
      access: [{ action: 'deny', match: { pathPrefix: '/public/', invert: true, rejectAmbiguous: true } }],
    };
    expect(await statusFor(doc, '/public/x')).toBe(200);
    expect(await statusFor(doc, '/public/..%2fadmin')).toBe(400);
  });

  it('a per-rule case setting applies to the lenient reading too', async () => {
    const doc: PolicyDoc = {
      access: [
        { action: 'deny', match: { pathPrefix: '/admin/', rejectAmbiguous: true, caseInsensitive: true } },
      ],
    };
    expect(await statusFor(doc, '/ADMIN%2fx')).toBe(400);
    expect(await statusFor(doc, '/ADMIN/x')).toBe(403);
  });

  it('a refused target uses no rate-limit quota', async () => {
    const e = createPolicyEngine({
      policy: { paths: { rejectAmbiguous: true }, ratelimits: [{ name: 'one', limit: 1 }] },
    });
    expect(statusOf(await send(e, { target: '/a%2fb' }))).toBe(400);
    expect(statusOf(await send(e, { target: '/a/b' }))).toBe(200);
    expect(statusOf(await send(e, { target: '/a/b' }))).toBe(429);
  });

  it('property: with the global option, nothing allowed reads as /admin on any reading', async () => {
    const e = createPolicyEngine({
      policy: {
        paths: { rejectAmbiguous: true },
        access: [
          { action: 'deny', match: { pathPrefix: '/admin/' } },
          { action: 'deny', match: { path: '/admin' } },
        ],
      },
    });
    const piece = fc.constantFrom(
      '/',
      'admin',
      'x',
      '.',
      '..',
      '%2e',
      '%2E%2e',
      '%61',
      '%2f',
      '%2F',
      '%5c',
      '\\',
      '%25',
      '%2561',
      '%252f',
      ';',
      ';x=1',
      '%3b',
      '%00',
      '%20',
      '%09',
      '%c0%af',
      '%',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 10 }), async (pieces) => {
        const target = `/${pieces.join('')}`;
        const out = await send(e, { target });
        if (!out.ok) return;
        const wide = lenientPath(target);
        expect(wide === '/admin' || wide.startsWith('/admin/'), target).toBe(false);
        const hub = normalizePath(target);
        expect(hub === '/admin' || hub.startsWith('/admin/'), target).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('rate limits and case', () => {
  it('paths.caseInsensitive folds the path key, so case cannot split a counter', async () => {
    const e = createPolicyEngine({
      policy: {
        paths: { caseInsensitive: true },
        ratelimits: [{ name: 'per-path', key: 'path', limit: 1, match: { pathPrefix: '/api/' } }],
      },
    });
    expect(statusOf(await send(e, { target: '/api/x' }))).toBe(200);
    expect(statusOf(await send(e, { target: '/API/X' }))).toBe(429);
    expect(statusOf(await send(e, { target: '/api/y' }))).toBe(200);
  });
});

describe('validation', () => {
  it('accepts the paths section and the per-rule fields', () => {
    const r = validatePolicy({
      paths: { rejectAmbiguous: true, caseInsensitive: false },
      access: [
        { action: 'deny', match: { pathPrefix: '/a/', caseInsensitive: true, rejectAmbiguous: true } },
      ],
      ratelimits: [{ name: 'x', limit: 1, match: { path: '/b', caseInsensitive: true } }],
    });
    expect(r.ok).toBe(true);
  });

  it('reports bad values, unknown fields, and rejectAmbiguous outside access rules', () => {
    const r = validatePolicy({
      paths: { rejectAmbiguous: 'yes', strict: true },
      access: [{ action: 'deny', match: { caseInsensitive: 1, rejectAmbiguous: 'no' } }],
      ratelimits: [{ name: 'x', limit: 1, match: { rejectAmbiguous: true } }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'paths.rejectAmbiguous must be a boolean',
        expect.stringMatching(/^paths\.strict is not a known field/),
        'access[0].match.caseInsensitive must be a boolean',
        'access[0].match.rejectAmbiguous must be a boolean',
        expect.stringMatching(/^ratelimits\[0\]\.match\.rejectAmbiguous only applies to access rules/),
      ]),
    );
    expect(validatePolicy({ paths: [] })).toEqual({
      ok: false,
      errors: ['paths must be an object like { rejectAmbiguous: true, caseInsensitive: false }'],
    });
  });

  it('GET /policy reads back the paths section as written', () => {
    const e = createPolicyEngine({ policy: { paths: { rejectAmbiguous: true } } });
    expect(e.current()).toEqual({ paths: { rejectAmbiguous: true } });
  });
});
