/**
 * A static HTTP server for one exported bundle folder, so the studio's "Open Demo Page" can
 * open the page over HTTP: browsers block ES modules and `fetch` on `file://` pages, where
 * the demo page would wait forever.
 *
 * Pure Node (no `vscode`), so it is tested in plain Node. It listens on 127.0.0.1 only, on a
 * port the system picks, and serves only under a random path token (other local users can
 * reach the port but cannot guess the URL). It serves regular files inside the folder, read
 * through io/user-files (symbolic links resolved and confined to the folder, FIFOs and devices
 * refused without blocking), with the MIME types the page needs; it lists no folder, answers
 * 404 for anything missing or outside, refuses `..` and encoded separators, and accepts only
 * requests whose `Host` is its own address (a web page elsewhere cannot reach it through DNS
 * rebinding).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { isUserFileError, readUserFile, resolveUserPath, type UserFileKind } from '../io/user-files';

/** Content types by file extension; anything else is served as `application/octet-stream`. */
export const DEMO_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.wav': 'audio/wav',
  '.csv': 'text/csv; charset=utf-8',
};

/** A running demo server. */
export interface DemoServer {
  /** The demo page's address, `http://127.0.0.1:PORT/TOKEN/index.html`. */
  url: string;
  /** The address of the bundle folder itself, ending in `/`. */
  baseUrl: string;
  /** The port the system picked. */
  port: number;
  /**
   * Also accepts requests whose `Host` is `authority` (`host:port`): the address a remote's
   * port forwarding (VS Code's asExternalUri, code-server's /proxy/PORT/) passes them on under.
   */
  allowHost(authority: string): void;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

/** The size limits of io/user-files by what a bundle file holds. */
function kindOf(name: string): UserFileKind {
  const ext = extname(name).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.json') return 'json';
  return 'text';
}

/**
 * The file path inside the folder that `pathname` (under the token prefix) names, or
 * `undefined` when it is malformed or tries to leave the folder: `..` or `.` segments, encoded
 * slashes or backslashes, NUL bytes, or bad percent-encoding.
 */
export function bundleRelativePath(pathname: string, prefix: string): string | undefined {
  if (!pathname.startsWith(prefix)) return undefined;
  const rest = pathname.slice(prefix.length);
  if (rest === '') return 'index.html';
  const segments = rest.split('/');
  const decoded: string[] = [];
  for (const [i, raw] of segments.entries()) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (s === '' && i === segments.length - 1) {
      decoded.push('index.html');
      continue;
    }
    if (s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s)) return undefined;
    decoded.push(s);
  }
  return decoded.join('/');
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(`${body}\n`);
}

/**
 * Serves the bundle folder `folder` on 127.0.0.1 at a port the system picks, under a random
 * path token, until {@link DemoServer.stop}. Rejects when the folder cannot be resolved or the
 * server cannot listen.
 */
export async function serveBundleFolder(folder: string): Promise<DemoServer> {
  const root = resolveUserPath(folder, 'text');
  const token = randomBytes(18).toString('base64url');
  const prefix = `/${token}/`;
  let host = '';
  const hosts = new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hosts.has(req.headers.host ?? '')) return send(res, 421, 'Wrong host: open the address the studio printed.');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'Only GET and HEAD.');
    }
    const pathname = (req.url ?? '/').split('?')[0]?.split('#')[0] ?? '/';
    if (pathname === `/${token}`) {
      res.writeHead(308, { location: prefix, 'cache-control': 'no-store' }).end();
      return;
    }
    const rel = bundleRelativePath(pathname, prefix);
    if (rel === undefined) return send(res, pathname.startsWith(prefix) ? 400 : 404, pathname.startsWith(prefix) ? 'Bad path.' : 'Not found.');
    let bytes: Uint8Array;
    try {
      bytes = await readUserFile(join(root, rel), kindOf(rel), { roots: [root] });
    } catch (e) {
      // Missing, outside the folder, a folder, a FIFO or a device: all look the same from outside.
      if (isUserFileError(e) && e.reason !== 'io' && e.reason !== 'too-large') return send(res, 404, 'Not found.');
      return send(res, 500, isUserFileError(e) ? `Cannot read ${rel}.` : 'Internal error.');
    }
    res.writeHead(200, {
      'content-type': DEMO_CONTENT_TYPES[extname(rel).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(bytes.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'Internal error.');
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  host = `127.0.0.1:${port}`;
  hosts.add(host);
  const baseUrl = `http://${host}${prefix}`;
  return {
    url: `${baseUrl}index.html`,
    baseUrl,
    port,
    allowHost: (authority) => void hosts.add(authority.toLowerCase()),
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
