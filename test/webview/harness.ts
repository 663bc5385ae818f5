/**
 * Test harness for the graph editor in real Chromium: bundles the webview and the mock
 * host with esbuild (the same options as esbuild.mjs's webview entry) into a temporary
 * directory, serves webview/mock/index.html and the bundles from 127.0.0.1 on a random
 * port, and launches Debian's Chromium through playwright-core.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

/** A running harness. */
export interface Harness {
  browser: Browser;
  url: string;
  /** Opens the mock page; `query` is appended (`theme=light`, `manual`). */
  open(query?: string, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Builds, serves and launches; call `close()` in afterAll. */
export async function startHarness(): Promise<Harness> {
  const out = mkdtempSync(join(tmpdir(), 'sense-webview-'));
  const common: esbuild.BuildOptions = { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'error', sourcemap: true, minify: true, define: { 'process.env.NODE_ENV': '"production"' } };
  await esbuild.build({ ...common, entryPoints: [join(root, 'webview/main.tsx')], outfile: join(out, 'webview.js'), loader: { '.ttf': 'file', '.css': 'css' } });
  await esbuild.build({ ...common, entryPoints: [join(root, 'webview/mock/mock-host.ts')], outfile: join(out, 'mock-host.js') });
  const mockDir = join(root, 'webview/mock');
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path === '/' ? join(mockDir, 'index.html') : path.startsWith('/dist/') ? normalize(join(out, path.slice(6))) : normalize(join(mockDir, path));
    if (!(file.startsWith(out) || file.startsWith(mockDir)) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const url = `http://127.0.0.1:${port}/`;
  return {
    browser,
    url,
    async open(query = '', viewport = { width: 1400, height: 900 }) {
      const page = await browser.newPage({ viewport });
      await page.addInitScript(() => {
        const w = window as unknown as { cspViolations: string[] };
        w.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`));
      });
      await page.goto(`${url}?${query}`);
      return page;
    },
    async close() {
      await browser.close();
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(out, { recursive: true, force: true });
    },
  };
}
