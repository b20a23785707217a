/**
 * The demo page in a real browser: Debian's Chromium driven by playwright-core, headless. It
 * opens /demo for a known user, clicks "buy" on an item and waits for the list to change (the
 * in-process updater moves the user's vector); and plays a brand-new customer, whose trending
 * list turns personalized after a purchase (the API numbers the customer_id, the updater starts
 * its vector). Screenshots go to test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSystem, startSystem } from '../../app/system.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { syntheticBundle } from '../../lib/stores/fixtures.ts';
import { freePort } from '../support/net.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`no Chromium at ${CHROMIUM} (apt-get install chromium): browser test skipped`);

describe.skipIf(!hasChromium)('demo page in Chromium', () => {
  let dir: string;
  let system: RunningSystem;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-browser-'));
    await syntheticBundle({ items: 3000, users: 200, rank: 16, seed: 11, outDir: dir, meanPurchases: 6 });
    const config = loadConfig({ MODELS_DIR: dir, PORT: String(await freePort()), HOST: '127.0.0.1' });
    system = await startSystem(config, createLogger({ level: 'warn' }), { rate: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.shutdown.run();
    rmSync(dir, { recursive: true, force: true });
  });

  const itemsOf = (page: Page) =>
    page.$$eval('.card', (cards) => cards.map((c) => c.getAttribute('data-item')));

  /** A fresh page that records uncaught errors. */
  async function openPage(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return { page, errors };
  }

  it('buying an item visibly changes the recommendations', async () => {
    const { page, errors } = await openPage();
    try {
      await page.goto(`${system.url}/demo?user=${system.exampleUser}`);
      await page.waitForSelector('.card');
      await expect.poll(() => page.textContent('#meta')).toContain('source personalized');

      const before = await itemsOf(page);
      expect(before.length).toBe(12);
      // Buy an item from the far end of the list: the vector moves toward it and the list changes.
      await page.locator('.card').last().locator('button.buy').click();
      await expect.poll(() => page.textContent('#status'), { timeout: 5000 }).toMatch(/^bought /);
      const after = await itemsOf(page);
      expect(after).not.toEqual(before);
      expect(await page.locator('.card.new').count()).toBeGreaterThan(0);

      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/demo-after-buy.png', fullPage: false });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a brand-new customer starts on trending and turns personalized after a purchase', async () => {
    const { page, errors } = await openPage();
    try {
      await page.goto(`${system.url}/demo`);
      await page.waitForSelector('.card');
      await page.click('#new-customer');
      await expect
        .poll(() => page.textContent('#meta'))
        .toMatch(/^new customer [0-9a-f]{12}… · user not numbered yet · source trending/);
      expect(page.url()).toMatch(/[?&]customer=[0-9a-f]{64}$/);
      expect(await page.isVisible('#hint')).toBe(true);
      expect(await page.textContent('#profile')).toContain('no purchases yet');
      const trending = await itemsOf(page);
      expect(trending.length).toBe(12);

      // First purchase: the API numbers the customer (user_idx in the 202), the updater starts its
      // vector from the item's, and the page polls until the list is personalized.
      await page.locator('.card').nth(3).locator('button.buy').click();
      await expect
        .poll(() => page.textContent('#meta'), { timeout: 5000 })
        .toMatch(/· user \d+ · source personalized/);
      await expect.poll(() => page.textContent('#status'), { timeout: 5000 }).toMatch(/^bought /);
      const personal = await itemsOf(page);
      expect(personal).not.toEqual(trending);
      await expect.poll(() => page.textContent('#profile')).toContain('1 purchases');

      // A second purchase moves the vector again.
      await page.locator('.card').last().locator('button.buy').click();
      await expect.poll(() => page.textContent('#profile'), { timeout: 5000 }).toContain('2 purchases');
      expect(await page.textContent('#meta')).toContain('source personalized');

      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/demo-new-customer.png', fullPage: false });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
