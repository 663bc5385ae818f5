/**
 * The demo page's static server in plain Node: what it serves (and with which types), what
 * it refuses (escapes, encoded separators, a folder, a FIFO that must not hang it, a symbolic
 * link out of the folder, a foreign Host header, a wrong token), and that stop() closes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleRelativePath, serveBundleFolder, type DemoServer } from '../../../extension/demo-server';

let work: string;
let bundle: string;
let server: DemoServer;

/** A raw GET that sends `path` exactly as written (fetch would normalise `..` away). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'demo-server-'));
  bundle = join(work, 'bundle');
  mkdirSync(join(bundle, 'sub'), { recursive: true });
  writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>demo</title>');
  writeFileSync(join(bundle, 'runtime.js'), 'export const x = 1;\n');
  writeFileSync(join(bundle, 'ort.wasm.bundle.min.mjs'), 'export {};\n');
  // The 8-byte WebAssembly header: magic and version 1.
  writeFileSync(join(bundle, 'ort-wasm-simd-threaded.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(bundle, 'manifest.json'), '{"pipeline":"p"}\n');
  writeFileSync(join(bundle, 'p0.onnx'), Buffer.from([8, 7, 18, 0]));
  writeFileSync(join(bundle, 'sub', 'a b.txt'), 'spaced');
  writeFileSync(join(work, 'secret.txt'), 'outside the bundle');
  symlinkSync(join(work, 'secret.txt'), join(bundle, 'link-out.txt'));
  execFileSync('mkfifo', [join(bundle, 'fifo.json')]);
  server = await serveBundleFolder(bundle);
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('demo server', () => {
  it('listens on 127.0.0.1 at a system-picked port under a random token', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}\/index\.html$/);
    expect(server.port).toBeGreaterThan(0);
    const other = await serveBundleFolder(bundle);
    try {
      expect(other.port).not.toBe(server.port);
      expect(other.baseUrl.split('/')[3]).not.toBe(server.baseUrl.split('/')[3]);
    } finally {
      await other.stop();
    }
  });

  it('serves the page and the bundle files with the types the browser needs', async () => {
    const cases: Array<[string, string]> = [
      ['index.html', 'text/html; charset=utf-8'],
      ['', 'text/html; charset=utf-8'],
      ['runtime.js', 'text/javascript; charset=utf-8'],
      ['ort.wasm.bundle.min.mjs', 'text/javascript; charset=utf-8'],
      ['ort-wasm-simd-threaded.wasm', 'application/wasm'],
      ['manifest.json', 'application/json; charset=utf-8'],
      ['p0.onnx', 'application/octet-stream'],
      ['sub/a%20b.txt', 'text/plain; charset=utf-8'],
    ];
    for (const [path, type] of cases) {
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const wasm = new Uint8Array(await (await fetch(`${server.baseUrl}ort-wasm-simd-threaded.wasm`)).arrayBuffer());
    expect(WebAssembly.validate(wasm)).toBe(true);
    expect(await (await fetch(`${server.baseUrl}sub/a%20b.txt`)).text()).toBe('spaced');
    expect(await (await fetch(server.url)).text()).toContain('<title>demo</title>');
  });

  it('answers 404 for missing files, folders, a FIFO (without hanging) and links out of the folder', async () => {
    for (const path of ['nope.js', 'sub', 'sub/', 'fifo.json', 'link-out.txt']) {
      const res = await rawGet(`/${server.baseUrl.split('/')[3]}/${path}`);
      // 'sub/' names the folder's index.html, which it lacks.
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('outside the bundle');
    }
  });

  it('refuses escapes, encoded separators, a wrong token, a foreign Host and other methods', async () => {
    const token = server.baseUrl.split('/')[3] as string;
    for (const path of [`/${token}/../secret.txt`, `/${token}/%2e%2e/secret.txt`, `/${token}/sub%2f..%2f..%2fsecret.txt`, `/${token}/..%5csecret.txt`, `/${token}/%00`, `/${token}/%zz`, `/${token}//etc/passwd`]) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(400);
      expect(res.body).not.toContain('outside the bundle');
    }
    expect((await rawGet('/index.html')).status).toBe(404);
    expect((await rawGet('/wrongtoken/index.html')).status).toBe(404);
    expect((await rawGet(`/${token}`)).status).toBe(308);
    expect((await rawGet(`/${token}/index.html`, { host: 'evil.example:80' })).status).toBe(421);
    expect((await fetch(server.url, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('accepts the Host of a port forwarder only once the studio allows it', async () => {
    const token = server.baseUrl.split('/')[3] as string;
    const forwarder = { host: '127.0.0.1:8080' };
    expect((await rawGet(`/${token}/index.html`, forwarder)).status).toBe(421);
    server.allowHost('127.0.0.1:8080');
    expect((await rawGet(`/${token}/index.html`, forwarder)).status).toBe(200);
    expect((await rawGet(`/${token}/index.html`, { host: 'evil.example:80' })).status).toBe(421);
  });

  it('maps request paths to bundle paths only inside the folder', () => {
    expect(bundleRelativePath('/t/', '/t/')).toBe('index.html');
    expect(bundleRelativePath('/t/a/b.js', '/t/')).toBe('a/b.js');
    expect(bundleRelativePath('/t/a%20b', '/t/')).toBe('a b');
    expect(bundleRelativePath('/t/a/./b', '/t/')).toBeUndefined();
    expect(bundleRelativePath('/u/a', '/t/')).toBeUndefined();
  });

  it('stops listening on stop()', async () => {
    const s = await serveBundleFolder(bundle);
    expect((await fetch(s.url)).status).toBe(200);
    await s.stop();
    await expect(fetch(s.url)).rejects.toThrow();
  });
});
