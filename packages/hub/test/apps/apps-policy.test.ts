import { describe, expect, it } from 'vitest';
import { compileApps } from '../../src/apps/app-directory.js';
import { addApp, listApps, removeApp, rotateApp } from '../../src/apps/app-edit.js';
import { hashAppKey } from '../../src/apps/app-keys.js';
import { quotaRules } from '../../src/apps/app-quotas.js';
import { validatePolicy } from '../../src/policy/validate.js';

describe('the apps section', () => {
  it('reports every problem with its path', () => {
    const r = validatePolicy({
      apps: [
        { name: 'ok', keys: [{ hash: hashAppKey('k') }] },
        { name: 'bad name', weight: 0, maxPriority: 'urgent', maxQueue: 1.5, extra: 1 },
        { name: 'ok', keys: [{ hash: 'slime_app_cleartext' }, { hash: hashAppKey('k'), expires: 'soon' }] },
        { name: 'q', quotas: { requests: { week: 5, minute: -1 } } },
      ],
    });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.errors).toEqual([
      'apps[1].extra is not a known field (expected one of name, keys, weight, maxPriority, maxQueue, quotas)',
      'apps[1].name must be 1-32 letters, digits, _ . or -, starting with a letter or digit',
      'apps[1].weight must be a number from 0.01 to 1000',
      'apps[1].maxPriority must be one of high, normal, low',
      'apps[1].maxQueue must be a positive integer',
      'apps[2].keys[0].hash must be "sha256:" and 64 lowercase hex digits (keys are never stored in clear)',
      'apps[2].keys[1].expires must be an ISO 8601 time',
      'apps[2].name duplicates apps[0].name',
      'apps[2].keys[1].hash is also a key of ok',
      'apps[3].quotas.requests.week is not a known field (expected one of minute, hour, day)',
      'apps[3].quotas.requests.minute must be a positive integer',
    ]);
  });

  it('turns quotas into rate-limit rules matched on the app', () => {
    expect(
      quotaRules([{ name: 'a', quotas: { requests: { minute: 10, day: 1000 }, bytes: { hour: 5 } } }]),
    ).toEqual([
      {
        name: 'app:a:requests:minute',
        match: { app: 'a' },
        limit: 10,
        window: '1m',
        unit: 'requests',
        algorithm: 'sliding-window',
      },
      {
        name: 'app:a:requests:day',
        match: { app: 'a' },
        limit: 1000,
        window: '1d',
        unit: 'requests',
        algorithm: 'sliding-window',
      },
      {
        name: 'app:a:bytes:hour',
        match: { app: 'a' },
        limit: 5,
        window: '1h',
        unit: 'bytes',
        algorithm: 'sliding-window',
      },
    ]);
    // and the policy with those rules is valid as a whole
    const { doc } = addApp({}, { name: 'a', quotas: { requests: { minute: 10 } } }, 0);
    expect(validatePolicy(doc).ok).toBe(true);
  });

  it('finds a key by its hash only while it is not expired; no apps section means no keys required', () => {
    let now = 1_000;
    const { doc, key } = addApp({}, { name: 'a', weight: 2 }, now);
    const rotated = rotateApp(doc, 'a', 500, now);
    const dir = compileApps(rotated.doc.apps, () => now);
    expect(dir.required).toBe(true);
    expect(dir.byKey(key!)?.name).toBe('a');
    expect(dir.byKey(rotated.key!)?.name).toBe('a');
    expect(dir.byKey('slime_app_other')).toBeUndefined();
    now = 1_500;
    expect(dir.byKey(key!)).toBeUndefined();
    expect(dir.byKey(rotated.key!)?.weight).toBe(2);
    expect(compileApps(undefined).required).toBe(false);
    expect(compileApps([]).required).toBe(true);
    expect(dir.settings('default')).toEqual({
      name: 'default',
      weight: 1,
      maxPriority: 'normal',
      maxQueue: undefined,
    });
  });

  it('lists key ids and expiry, never keys or hashes; remove keeps an empty apps list', () => {
    const { doc, key } = addApp({}, { name: 'a' }, Date.parse('2026-01-01T00:00:00Z'));
    const later = rotateApp(doc, 'a', 3_600_000, Date.parse('2026-01-02T00:00:00Z'));
    const listing = listApps(later.doc, Date.parse('2026-01-02T00:30:00Z'));
    expect(listing).toMatchObject([
      {
        name: 'a',
        weight: 1,
        maxPriority: 'normal',
        keys: [{ expires: '2026-01-02T01:00:00.000Z', expired: false }, { expired: false }],
      },
    ]);
    const text = JSON.stringify(listing);
    expect(text).not.toContain(key!);
    expect(text).not.toContain(hashAppKey(key!));
    expect(removeApp(later.doc, 'a').doc).toEqual({ apps: [] });
    expect(() => removeApp(later.doc, 'b')).toThrow(/no application named "b"/);
    expect(() => addApp(later.doc, { name: 'a' }, 0)).toThrow(/exists/);
  });
});
