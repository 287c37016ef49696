// The browser demo (examples/browser) as its users get it: a real `vite build` served on 127.0.0.1 (vite
// preview) and the dev server, loaded in headless Debian Chromium driven by playwright-core. The ten sample
// digits of examples/digits_sample.json are drawn with mouse events (each 16x16 sample pixel becomes clicks of
// the soft brush at that spot, one click per 112 levels of grey) and the page's prediction is read from the DOM.
// Screenshots go to test/output/. Skips with a notice where /usr/bin/chromium is absent (CI installs it).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, createServer, preview, type ViteDevServer, type PreviewServer } from 'vite';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './helpers/shared.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[onnx2wasm tests] skipping the browser demo tests: ${CHROMIUM} not found (apt-get install -y chromium)`);

const DEMO = join(REPO_ROOT, 'examples/browser');
const OUTPUT = join(REPO_ROOT, 'test/output');
const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/digits_sample.json'), 'utf8')) as { images: number[][]; labels: number[] };
const CELL = 256 / 16; // canvas pixels per sample pixel
const LEVEL = 112; // grey per click (the brush adds 64 at its centre, and its neighbours' clicks add to it)

const work = mkdtempSync(join(tmpdir(), 'onnx2wasm-browser-'));
let context: BrowserContext | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(OUTPUT, { recursive: true });
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 760, height: 420 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});
afterAll(async () => {
  await context?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens the page and waits until the model is loaded (main.js sets data-ready after its top-level await). */
async function open(url: string): Promise<Page> {
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  expect(errors).toEqual([]);
  return page;
}

/** Draws one 16x16 sample on the pad with mouse clicks and returns the page's predicted class. */
async function drawSample(page: Page, pixels: number[]): Promise<number> {
  await page.click('#clear');
  const box = (await page.locator('#pad').boundingBox())!;
  for (let i = 0; i < 256; i++) {
    const clicks = Math.round(pixels[i] / LEVEL);
    const x = box.x + ((i % 16) + 0.5) * CELL, y = box.y + (Math.floor(i / 16) + 0.5) * CELL;
    for (let c = 0; c < clicks; c++) {
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.up();
    }
  }
  return Number(await page.locator('#prediction').getAttribute('data-class'));
}

/** A stroke as a person draws it: press, move through the points in small steps, release. */
async function stroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(box.x + points[0][0], box.y + points[0][1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
  await page.mouse.up();
}

describe.skipIf(!hasChromium)('browser demo in headless Chromium', () => {
  let server: PreviewServer | undefined;
  afterAll(async () => { await server?.close(); });

  it('vite build of examples/browser: the drawn sample digits are classified correctly, offline', async () => {
    const outDir = join(work, 'dist');
    await build({ root: DEMO, configFile: join(DEMO, 'vite.config.js'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const assets = readdirSync(join(outDir, 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm'))).toEqual([expect.stringMatching(/^digits_cnn-[\w-]+\.wasm$/)]);
    server = await preview({ root: DEMO, configFile: join(DEMO, 'vite.config.js'), logLevel: 'silent', build: { outDir }, preview: { host: '127.0.0.1', port: 0 } });
    const address = server.httpServer.address() as { port: number };
    const page = await open(`http://127.0.0.1:${address.port}/`);
    // Offline: every request the page made went to this server.
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) expect(url.startsWith(`http://127.0.0.1:${address.port}/`), url).toBe(true);
    expect(requests.some((u) => /digits_cnn-[\w-]+\.wasm$/.test(u))).toBe(true);

    const predicted: number[] = [];
    for (const [i, pixels] of sample.images.entries()) {
      predicted.push(await drawSample(page, pixels));
      await page.screenshot({ path: join(OUTPUT, `browser-sample-${sample.labels[i]}.png`) });
    }
    expect(predicted).toEqual(sample.labels);
    // The bar chart shows ten bars, the predicted one highlighted.
    expect(await page.locator('#chart .bar').count()).toBe(10);
    expect(await page.locator('#chart .bar.top').getAttribute('title')).toBe(String(sample.labels.at(-1)));

    // A digit drawn in two strokes, as a person would: a "4".
    await page.click('#clear');
    await stroke(page, [[150, 30], [50, 160], [210, 160]]);
    await stroke(page, [[160, 90], [160, 230]]);
    await page.screenshot({ path: join(OUTPUT, 'browser-stroke-4.png') });
    expect(await page.locator('#prediction').getAttribute('data-class')).toBe('4');
    await page.close();
  });

  it('the dev server path: the page loads the model from the middleware and classifies a drawn digit', async () => {
    let dev: ViteDevServer | undefined;
    try {
      dev = await createServer({ root: DEMO, configFile: join(DEMO, 'vite.config.js'), logLevel: 'silent', server: { host: '127.0.0.1', port: 0 } });
      await dev.listen();
      const address = dev.httpServer!.address() as { port: number };
      const page = await open(`http://127.0.0.1:${address.port}/`);
      const wasmUrls: string[] = [];
      page.on('response', (r) => { if (r.url().endsWith('.wasm')) wasmUrls.push(`${r.status()} ${r.headers()['content-type']} ${r.url()}`); });
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      expect(wasmUrls).toEqual([expect.stringMatching(/^200 application\/wasm http:\/\/127\.0\.0\.1:\d+\/@onnx2wasm\/digits_cnn-\w+\.wasm$/)]);
      expect(await drawSample(page, sample.images[0])).toBe(sample.labels[0]);
      await page.screenshot({ path: join(OUTPUT, 'browser-dev.png') });
      await page.close();
    } finally {
      await dev?.close();
    }
  });
});
