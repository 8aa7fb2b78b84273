import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startObservedHub } from '../packages/hub/test/observability/observed-hub.js';
import { startOpsServer } from '../packages/hub/test/observability/ops-server.js';
import { startAgent, startUpstream } from './helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'status-page-admin-token';

// No skip when the browser is missing: .ci/run installs it, and a silent skip would hide a broken page.
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(url: string): Promise<Page & AsyncDisposable> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text());
  });
  await page.goto(url);
  return Object.assign(page, {
    async [Symbol.asyncDispose]() {
      await context.close();
      // CSP violations and script errors show up here: the page must run clean.
      expect(errors).toEqual([]);
    },
  });
}

describe('status page (headless chromium)', () => {
  it('shows an agent row once the agent connects, and drops it when it leaves', async () => {
    await using up = await startUpstream(
      (req, res) => void res.writeHead(req.url === '/boom' ? 500 : 200).end('ok'),
    );
    await using h = await startObservedHub();
    await using s = await startOpsServer({
      hub: h.hub,
      metrics: h.metrics,
      token: TOKEN,
      eventIntervalMs: 100,
    });
    // The token travels in the fragment, which browsers never send to the server.
    await using page = await openPage(`${s.url}/#token=${TOKEN}`);
    await page.waitForSelector('#conn:text("live")');
    expect(await page.locator('tr.agent').count()).toBe(0);
    expect(await page.locator('#empty').isVisible()).toBe(true);
    expect(page.url()).not.toContain(TOKEN);

    const a = await startAgent(h, up, {
      name: 'browser-agent',
      scopes: ['gpu'],
      numWorker: 3,
      reportHardware: true,
      gpuQuery: async () =>
        'NVIDIA A100 80GB, 81920, GPU-0aa\nNVIDIA A100 80GB, 81920, GPU-1bb\nNVIDIA L4, 23034, GPU-2cc\n',
    });
    const row = page.locator('tr.agent[data-agent-name="browser-agent"]');
    await row.waitFor();
    // the first snapshot may catch the connection before its HELLO (no slots yet): poll until ready
    await expect
      .poll(async () => (await row.locator('td').allTextContents()).slice(0, 7))
      .toEqual(['browser-agent', a.agent.hubAgentId, 'gpu', '3', '0', 'ready', 'ok']);
    expect((await row.locator('td').allTextContents())[8]).toBe('127.0.0.1');
    // hardware, appended last: CPUs, memory and the GPUs grouped by name; the full report on hover
    const hw = row.locator('td.hardware');
    expect(await row.locator('td').nth(10).getAttribute('class')).toBe('hardware');
    expect(await hw.textContent()).toMatch(/^\d+ CPU · \d+ GiB · 2× NVIDIA A100 80GB · NVIDIA L4$/);
    expect(JSON.parse((await hw.getAttribute('title')) ?? '')).toMatchObject({
      gpuSource: 'nvidia-smi',
      gpus: [{ uuid: 'GPU-0aa' }, { uuid: 'GPU-1bb' }, { name: 'NVIDIA L4', memoryMiB: 23034 }],
    });
    await expect.poll(() => page.locator('#agents-count').textContent()).toBe('1');
    expect(await page.locator('#slots').textContent()).toBe('0 / 3');
    expect(await page.locator('#empty').isVisible()).toBe(false);

    await fetch(`${h.url}/hello`).then((r) => r.arrayBuffer());
    await expect.poll(() => page.locator('#total').textContent()).toBe('1');
    expect(await page.locator('#errors').textContent()).toBe('0.0 %');
    await fetch(`${h.url}/boom`).then((r) => r.arrayBuffer());
    // one of the two requests in the rate window was answered 5xx
    await expect.poll(() => page.locator('#errors').textContent()).toBe('50.0 %');
    expect(await page.locator('#errors').getAttribute('class')).toBe('bad');

    await a.agent.close();
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#agents-count').textContent()).toBe('0');
  });

  it('shows the shaped groups with their cliff, hold and throttle-retry figures', async () => {
    await using h = await startObservedHub();
    const group = {
      group: 'gpu',
      mode: 'aimd' as const,
      limit: 11.8,
      learnedLimit: 11.8,
      inFlight: 11,
      paced: false,
      spacingMs: 0,
      rejections: 3,
      signalFactor: 1,
      signalErrors: 0,
      cliffLimit: 12.6,
      heldMs: 1500,
      retryAfterHolds: 4,
      throttleRetries: 17,
      throttleBoundMs: 41.7,
    };
    const perAgent = {
      ...group,
      group: 'gpu/gpu-1',
      cliffLimit: undefined,
      heldMs: 0,
      retryAfterHolds: 0,
      throttleRetries: 0,
      throttleBoundMs: undefined,
    };
    await using s = await startOpsServer({
      hub: h.hub,
      eventIntervalMs: 100,
      shaping: () => [group, perAgent],
    });
    await using page = await openPage(`${s.url}/`);
    const row = page.locator('tr.group[data-group="gpu"]');
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      'gpu',
      'aimd',
      '11',
      '11',
      'normal',
      '3',
      '12',
      '1500 ms',
      '4',
      '17',
      '42 ms',
    ]);
    expect(
      (await page.locator('tr.group[data-group="gpu/gpu-1"]').locator('td').allTextContents()).slice(6),
    ).toEqual(['–', '–', '0', '0', '–']);
  });

  it('asks for the token when it has none, then goes live', async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub, token: TOKEN, eventIntervalMs: 100 });
    await using _a = await startAgent(h, up, { name: 'after-login' });
    await using page = await openPage(`${s.url}/`);
    await page.waitForSelector('#login', { state: 'visible' });
    expect(await page.locator('tr.agent').count()).toBe(0);
    await page.fill('#token', TOKEN);
    await page.click('#login button');
    await page.locator('tr.agent[data-agent-name="after-login"]').waitFor();
    expect(await page.locator('#login').isVisible()).toBe(false);
  });

  it('falls back to polling /status when the event stream is unavailable', async () => {
    await using up = await startUpstream((_req, res) => void res.writeHead(200).end('ok'));
    await using h = await startObservedHub();
    await using s = await startOpsServer({ hub: h.hub });
    await using _a = await startAgent(h, up, { name: 'polled' });
    const context = await browser.newContext();
    // A proxy in the way that breaks streaming: the page must still show the agents.
    await context.route('**/status/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
    const page = await context.newPage();
    try {
      await page.goto(`${s.url}/`);
      await page.locator('tr.agent[data-agent-name="polled"]').waitFor();
      await page.waitForSelector('#conn:text("polling")');
    } finally {
      await context.close();
    }
  });
});
