import { type PolicyDoc, rotateApp } from '@slime/hub';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const KEY_A = 'slime_app_test-key-of-app-a-0123456789';
const KEY_B = 'slime_app_test-key-of-app-b-0123456789';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function policyWith(apps: NonNullable<PolicyDoc['apps']>): PolicyDoc {
  return { apps };
}

/** A hub whose policy declares apps; the upstream echoes what it was sent. */
async function appHub(
  policy: PolicyDoc,
  opts: { appPassword?: string; now?: () => number; heartbeatTimeoutMs?: number } = {},
) {
  const upstream = await startUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        authorization: req.headers.authorization ?? null,
        key: req.headers['slime-app-key'] ?? null,
      }),
    );
  });
  const hub = await startHub({ policy, ...opts });
  const agent = await startAgent(hub, upstream, { numWorker: 4 });
  cleanups.push(
    () => upstream.close(),
    () => hub.hub.close(),
    () => agent.agent.close(),
  );
  return { engine: hub.hub.engine, hub, upstream };
}

async function call(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('application keys', () => {
  const apps = [
    { name: 'chat', keys: [{ hash: hashAppKey(KEY_A) }] },
    { name: 'batch', keys: [{ hash: hashAppKey(KEY_B) }] },
  ];

  it('admits a key sent as Authorization: Bearer or Slime-App-Key, and never forwards it upstream', async () => {
    const { hub } = await appHub(policyWith(apps));
    const bearer = await call(`${hub.url}/x`, { authorization: `Bearer ${KEY_A}` });
    expect(bearer.status).toBe(200);
    expect(bearer.json()).toEqual({ authorization: null, key: null });
    const header = await call(`${hub.url}/x`, {
      'slime-app-key': KEY_B,
      authorization: 'Basic dXNlcjpwdw==',
    });
    expect(header.status).toBe(200);
    // Slime-App-Key authenticated; the application's own Authorization goes through untouched
    expect(header.json()).toEqual({ authorization: 'Basic dXNlcjpwdw==', key: null });
  });

  it('refuses a request without a key, or with an unknown one, with 401 problem+json', async () => {
    const { hub, upstream } = await appHub(policyWith(apps));
    for (const headers of [{}, { authorization: 'Bearer slime_app_nope' }, { 'slime-app-key': 'nope' }]) {
      const r = await call(`${hub.url}/x`, headers);
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json()).toMatchObject({ status: 401, code: 'ERR_HUB_UNAUTHORIZED' });
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(upstream.count).toBe(0);
  });

  it('refuses a revoked key (its application removed from the policy) from the next request on', async () => {
    const { hub, engine } = await appHub(policyWith(apps));
    expect((await call(`${hub.url}/x`, { 'slime-app-key': KEY_B })).status).toBe(200);
    engine.update(policyWith(apps.filter((a) => a.name !== 'batch')));
    const r = await call(`${hub.url}/x`, { 'slime-app-key': KEY_B });
    expect(r.status).toBe(401);
    expect(r.json().code).toBe('ERR_HUB_UNAUTHORIZED');
    expect((await call(`${hub.url}/x`, { 'slime-app-key': KEY_A })).status).toBe(200);
  });

  it('keeps --appPassword / Slime-App-Password working as the application default', async () => {
    const { hub } = await appHub(policyWith(apps), { appPassword: 'pw' });
    expect((await call(`${hub.url}/x`, { 'slime-app-password': 'pw' })).status).toBe(200);
    expect((await call(`${hub.url}/x`, { 'slime-app-password': 'wrong' })).status).toBe(401);
    expect((await call(`${hub.url}/x`, { 'slime-app-key': KEY_A })).status).toBe(200);
    // an Authorization that is no app key is the upstream's business when the password is right
    const passThrough = await call(`${hub.url}/x`, {
      'slime-app-password': 'pw',
      authorization: 'Bearer upstream-token',
    });
    expect(passThrough.status).toBe(200);
    expect(passThrough.json().authorization).toBe('Bearer upstream-token');
  });

  it('rotation: old and new keys both work during the overlap; after it only the new one', async () => {
    // the hub's clock decides key expiry. It is the whole hub's clock (agent tokens, heartbeats), so
    // it starts at real time and the heartbeat timeout outlasts its jumps: the agent stays connected.
    let clock = Date.now();
    const now = () => clock;
    const { hub, engine } = await appHub(policyWith(apps), { now, heartbeatTimeoutMs: 3_600_000 });
    const { doc, key } = rotateApp(engine.current(), 'chat', 60_000, clock);
    engine.update(doc);
    expect(key).toMatch(/^slime_app_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(engine.current())).not.toContain(key!);
    expect((await call(`${hub.url}/x`, { authorization: `Bearer ${KEY_A}` })).status).toBe(200);
    expect((await call(`${hub.url}/x`, { authorization: `Bearer ${key}` })).status).toBe(200);
    clock += 59_000;
    expect((await call(`${hub.url}/x`, { authorization: `Bearer ${KEY_A}` })).status).toBe(200);
    clock += 2_000;
    expect((await call(`${hub.url}/x`, { authorization: `Bearer ${KEY_A}` })).status).toBe(401);
    expect((await call(`${hub.url}/x`, { authorization: `Bearer ${key}` })).status).toBe(200);
  });

  it('answers a Slime-Priority that is not high, normal or low with 400', async () => {
    const { hub } = await appHub(policyWith(apps));
    const r = await call(`${hub.url}/x`, { 'slime-app-key': KEY_A, 'slime-priority': 'urgent' });
    expect(r.status).toBe(400);
    expect(r.json().code).toBe('ERR_HUB_BAD_REQUEST');
  });
});
