import { randomBytes } from 'node:crypto';
import { createAgent } from '@slime/agent';
import { createHub, type PolicyDoc, signAgentToken } from '@slime/hub';
import type { CliContext } from '../context.js';
import { startDemoUpstream } from '../demo-upstream.js';
import { loggerFor } from '../logger.js';
import type { Settings } from '../settings.js';
import { exitOnSignals } from '../signals.js';
import { listenError } from './hub-run.js';

/** The curl lines `slime demo` prints, for a hub at `base` (and its status page, when given). */
export function demoInstructions(base: string, statusPage?: string): string {
  return [
    `Slime demo: hub ${base} -> agent (${DEMO_WORKERS} workers) -> built-in upstream. Try:`,
    '',
    '  # echo of your request as JSON',
    `  curl -s '${base}/hello?name=slime'`,
    `  curl -s -X POST -H 'content-type: application/json' -d '{"a":1}' ${base}/echo`,
    '  # an upstream that takes 2 s',
    `  curl -s '${base}/slow?ms=2000'`,
    '  # server-sent events, arriving one by one',
    `  curl -sN '${base}/events?n=5&interval=500'`,
    '  # wait for a free worker instead of a 503 when all are busy',
    `  curl -s -H 'Slime-Block: 1' '${base}/slow?ms=500'`,
    '  # /fragile takes 8 requests at once and answers 500 when flooded; the hub shapes it (AIMD):',
    '  # 40 at once get fast 503s from the hub instead of 500s, and none with Slime-Block',
    `  seq 40 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\\n' ${base}/fragile | sort | uniq -c`,
    `  seq 40 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\\n' -H 'Slime-Block: 1' ${base}/fragile | sort | uniq -c`,
    ...(statusPage
      ? [
          '',
          '  # the live status page (agents, queue, shaping) and the admin API; the token is this run only',
          `  open '${statusPage}'`,
        ]
      : []),
    '',
    'Press Ctrl-C to stop (twice to stop at once).',
    '',
  ].join('\n');
}

const DEMO_WORKERS = 32;

/**
 * The demo's policy: /fragile goes to the agent group "fragile" (the demo agent carries that
 * scope and serves every other request too), which an AIMD limiter shapes.
 */
export const DEMO_POLICY: PolicyDoc = {
  router: [{ name: 'fragile', match: { pathPrefix: '/fragile' }, to: 'fragile' }],
  shaping: {
    groups: [
      {
        match: { scope: 'fragile' },
        limiter: { mode: 'aimd', min: 1, max: 64, initial: 4, latencyThresholdMs: 150 },
      },
    ],
  },
};

/** `slime demo`: hub + agent + demo upstream in one process, for a first look. */
export async function runDemo(settings: Settings, ctx: CliContext): Promise<void> {
  const host = settings.string('host') ?? '127.0.0.1';
  const port = settings.int('port', { min: 0, max: 65535 }) ?? 8080;
  const logger = loggerFor(settings, ctx, 'warn');
  // a fresh secret per run: the demo's token is never shown and never outlives the process
  const secret = randomBytes(32).toString('base64url');
  const upstream = await startDemoUpstream();
  // The admin port, so a newcomer sees the status page: a fresh token per run, loopback only.
  const adminToken = randomBytes(18).toString('base64url');
  const adminPort = settings.int('admin-port', { min: 0, max: 65535 }) ?? 8081;
  const withAdmin = { admin: { token: adminToken, host: '127.0.0.1', port: adminPort } };
  const config = { secret, host, port, logger, policy: DEMO_POLICY };
  let hub = createHub({ ...config, ...withAdmin });
  try {
    await hub.listen();
  } catch (err) {
    if (hub.address === null) {
      await upstream.close();
      throw listenError(err, host, port);
    }
    // the demo still works without the status page (8081 taken by a real hub, say)
    logger.warn({ err: (err as Error).message }, 'demo admin port not available; no status page');
    hub = createHub(config);
    try {
      await hub.listen();
    } catch (e) {
      await upstream.close();
      throw listenError(e, host, port);
    }
  }
  const address = hub.address!;
  const statusPage = hub.adminAddress
    ? `http://127.0.0.1:${hub.adminAddress.port}/#token=${adminToken}`
    : undefined;
  const dialHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : address.host;
  const hubUrl = `http://${dialHost.includes(':') ? `[${dialHost}]` : dialHost}:${address.port}`;
  const token = await signAgentToken({ secret, name: 'demo', scopes: ['fragile'] });
  const agent = createAgent({
    token,
    hub: hubUrl,
    upstream: upstream.url,
    numWorker: DEMO_WORKERS,
    agentId: 'demo',
    logger,
  });
  agent.start();
  await agent.ready();
  ctx.stdout(demoInstructions(hubUrl, statusPage));
  exitOnSignals(
    {
      close: async () => {
        await agent.close();
        await hub.close();
        await upstream.close();
      },
      destroy: () => {
        agent.destroy();
        hub.destroy();
        void upstream.close();
      },
    },
    logger,
    ctx.exit,
  );
}
