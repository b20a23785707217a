/**
 * The demo page in a real browser: Debian's Chromium driven by playwright-core, headless. It
 * opens /demo for a known user, clicks "buy" on an item and waits for the list to change (the
 * in-process updater moves the user's vector). A screenshot goes to test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-browser-'));
    await syntheticBundle({ items: 3000, users: 200, rank: 16, seed: 11, outDir: dir, meanPurchases: 6 });
    const config = loadConfig({ MODELS_DIR: dir, PORT: String(await freePort()), HOST: '127.0.0.1' });
    system = await startSystem(config, createLogger({ level: 'warn' }), { rate: 0 });
  });

  afterAll(async () => {
    await system?.shutdown.run();
    rmSync(dir, { recursive: true, force: true });
  });

  it('buying an item visibly changes the recommendations', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${system.url}/demo?user=${system.exampleUser}`);
      await page.waitForSelector('.card');
      await expect.poll(() => page.textContent('#meta')).toContain('source personalized');

      const itemsOf = () => page.$$eval('.card', (cards) => cards.map((c) => c.getAttribute('data-item')));
      const before = await itemsOf();
      expect(before.length).toBe(12);
      // Buy an item from the far end of the list: the vector moves toward it and the list changes.
      await page.locator('.card').last().locator('button.buy').click();
      await expect.poll(() => page.textContent('#status'), { timeout: 5000 }).toMatch(/^bought /);
      const after = await itemsOf();
      expect(after).not.toEqual(before);
      expect(await page.locator('.card.new').count()).toBeGreaterThan(0);

      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/demo-after-buy.png', fullPage: false });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
