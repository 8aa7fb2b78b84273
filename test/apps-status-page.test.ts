import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { startAgent, startHub, startUpstream } from './helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'apps-status-page-token';
const KEY = 'slime_app_status-page-chat-0123456789abcdef';

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
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe('status page: applications (headless chromium)', () => {
  it('shows a row per application with weight and served count; the table stays hidden before any', async () => {
    await using upstream = await startUpstream((_req, res) => res.end('ok'));
    // the page as the hub serves it on its admin port (status events once a second)
    await using test = await startHub({
      policy: { apps: [{ name: 'chat', weight: 3, keys: [{ hash: hashAppKey(KEY) }] }] },
      admin: { token: TOKEN, port: 0 },
    });
    await using _agent = await startAgent(test, upstream);
    const admin = test.hub.adminAddress!.url;
    const context = await browser.newContext();
    const errors: string[] = [];
    try {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${admin}/#token=${TOKEN}`);
      await page.waitForSelector('#conn:text("live")');
      expect(await page.locator('#apps').isVisible()).toBe(false);
      for (let i = 0; i < 2; i++) {
        const r = await request(`${test.url}/`, { headers: { authorization: `Bearer ${KEY}` } });
        await r.body.dump();
        expect(r.statusCode).toBe(200);
      }
      const row = page.locator('tr.app[data-app="chat"]');
      await row.waitFor();
      // the page refreshes from the SSE stream: wait for the second request to show
      await row.locator('td:nth-child(5):text-is("2")').waitFor();
      expect(await row.locator('td').allTextContents()).toEqual(['chat', '3', '0', '0', '2']);
      expect(await page.locator('#apps').isVisible()).toBe(true);
    } finally {
      await context.close();
    }
    expect(errors).toEqual([]);
  });
});
