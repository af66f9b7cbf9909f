/**
 * The studio at /, in Debian's Chromium: the newcomer's flows, not just the page loading. The cast with
 * portraits and voice samples, usage and minutes left, a character made from a dropped portrait (landmarks
 * shown), a refused upload explained, a persona edited and saved, keyboard choice of a character.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium } from './helpers/browser.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

describe('studio', () => {
  let t: TestServer;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    t = await startTestServer();
    chrome = await launchChromium();
    page = await chrome.browser.newPage({ viewport: { width: 1100, height: 1400 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${t.server.url}/?key=${ADMIN_KEY}&mic=0`);
  });
  after(async () => {
    await chrome?.close();
    await t?.close();
  });

  it('shows the cast with their portraits, and the minutes used', async () => {
    await page.waitForFunction(
      () => {
        const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('#gallery img'));
        return imgs.length >= 5 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      null,
      { timeout: 10_000 },
    );
    const names = await page.$$eval('#gallery .name', (els) => els.map((e) => e.textContent));
    for (const name of ['Walter', 'Kai', 'Mika', 'Nora']) assert.ok(names.includes(name), names.join(', '));
    assert.match((await page.textContent('#usage')) ?? '', /media minutes used this month/);
    // Every portrait is described; every button and field has a name a screen reader says.
    const alts = await page.$$eval('#gallery img', (els) => els.map((e) => e.getAttribute('alt')));
    assert.ok(alts.every((a) => a?.startsWith('Portrait of ')));
    const unlabelled = await page.$$eval('input:not([type=hidden]), select, textarea', (els) =>
      els
        // Labelled by a <label for> or by the <label> around it.
        .filter((e) => !e.closest('label') && !(e.id && document.querySelector(`label[for="${e.id}"]`)))
        .map((e) => e.id || e.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
  });

  it('plays a character’s voice sample', async () => {
    await page.click('#gallery li:nth-child(2) .play');
    await page.waitForFunction(() => {
      const a = (window as unknown as { likenessSample?: HTMLAudioElement }).likenessSample;
      return a !== undefined && a.duration > 0.3;
    });
  });

  it('chooses a character from the keyboard, and edits and saves its persona', async () => {
    await page.focus('#gallery li:nth-child(3) .card');
    await page.keyboard.press('Enter');
    const chosen = await page.$eval('#gallery li:nth-child(3) .card', (e) => e.getAttribute('aria-pressed'));
    assert.equal(chosen, 'true');
    const id = await page.$eval('#gallery li:nth-child(3) .card', (e) => (e as HTMLElement).dataset.id!);
    assert.equal(await page.$eval('#character', (e) => (e as HTMLSelectElement).value), id);
    await page.fill('#persona-prompt', 'You are a lighthouse keeper who loves storms.');
    await page.selectOption('#persona-mood', 'happy');
    await page.click('#persona-save');
    await page.waitForFunction(() =>
      document.querySelector('#persona-status')?.textContent?.startsWith('Saved'),
    );
    const saved = await t.client.getCharacter({ path: { id } });
    assert.equal(saved.persona.prompt, 'You are a lighthouse keeper who loves storms.');
    assert.equal(saved.persona.mood, 'happy');
  });

  it('creates a character from a portrait, shows the landmarks it found, and explains a refused upload', async () => {
    await page.setInputFiles('#portrait', path.join(FIXTURES, 'grace_hopper.jpg'));
    await page.fill('#new-name', 'Grace');
    await page.selectOption('#new-voice', 'kokoro:bf_emma');
    await page.fill('#new-persona', 'You are Grace, a computer pioneer.');
    await page.click('#create-button');
    await page.waitForFunction(
      () => /is ready/.test(document.querySelector('#create-status')?.textContent ?? ''),
      null,
      {
        timeout: 20_000,
      },
    );
    assert.equal(await page.$eval('#landmarks', (e) => (e as HTMLCanvasElement).hidden), false);
    // Landmarks are drawn in cyan over the portrait.
    const cyan = await page.$eval('#landmarks', (c) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 256, 256).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! < 80 && d[i + 1]! > 180 && d[i + 2]! > 200) n++;
      return n;
    });
    assert.ok(cyan > 200, `${cyan} landmark pixels`);
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('#gallery .name')).some((e) => e.textContent === 'Grace'),
    );
    const grace = (await t.client.listCharacters()).data.find((c) => c.name === 'Grace')!;
    assert.equal(grace.voice.id, 'bf_emma');
    assert.equal(grace.persona.prompt, 'You are Grace, a computer pioneer.');

    // A picture with no face in it: the problem's detail, as an alert; nothing created.
    const sky = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#7ab' } })
      .png()
      .toBuffer();
    await page.setInputFiles('#portrait', { name: 'sky.png', mimeType: 'image/png', buffer: sky });
    await page.fill('#new-name', 'Nobody');
    await page.click('#create-button');
    await page.waitForSelector('#create-status[role=alert]');
    assert.match((await page.textContent('#create-status')) ?? '', /^Not created: .*face/i);
    assert.ok(!(await t.client.listCharacters()).data.some((c) => c.name === 'Nobody'));
  });

  it('had no console errors', () => {
    assert.deepEqual(
      errors.filter((e) => !/Failed to load resource: the server responded with a status of 422/.test(e)),
      [],
    );
  });
});
