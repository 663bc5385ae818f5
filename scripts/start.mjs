#!/usr/bin/env node
// `npm start`: builds Sense Studio, packages the VSIX and opens the studio on samples/.
// Desktop VS Code when `code` is on PATH (the extension loaded from this folder with
// --extensionDevelopmentPath); otherwise code-server (VS Code in the browser) on
// 127.0.0.1 with the VSIX installed, behind a random password printed with the address.
//
// The helpers are exported for test/vscode/, which drives the same code-server.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm run package` writes the VSIX. */
export const VSIX_PATH = join(ROOT, 'out', 'sense-studio.vsix');
/** The code-server cache of scripts/install-code-server.sh. */
export const CACHE = process.env.SENSE_CACHE ?? join(homedir(), '.cache', 'sense-studio');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8', env: { ...process.env, ...opts.env } });
  if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${r.status}${opts.capture ? `:\n${r.stdout}\n${r.stderr}` : ''}`);
  return r.stdout ?? '';
}

/** Builds every bundle and packages the VSIX; returns its path and size in bytes. */
export function buildVsix({ quiet = false } = {}) {
  run(process.execPath, ['esbuild.mjs'], { capture: quiet });
  mkdirSync(dirname(VSIX_PATH), { recursive: true });
  const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
  if (!existsSync(vsce)) throw new Error('vsce is not installed: run `npm ci` first (@vscode/vsce is a devDependency).');
  // vsce writes the archive itself; a temp name and a rename keep a half-written VSIX from being installed.
  const tmp = `${VSIX_PATH}.tmp-${process.pid}.vsix`;
  run(vsce, ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', tmp], { capture: quiet });
  renameSync(tmp, VSIX_PATH);
  return { path: VSIX_PATH, bytes: statSync(VSIX_PATH).size };
}

/** True when `cmd` is an executable on PATH. */
export function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Installs (or finds, when cached) code-server; returns the binary and the Node 24 it needs. */
export function installCodeServer({ quiet = false } = {}) {
  const cache = run('bash', [join(ROOT, 'scripts', 'install-code-server.sh')], { capture: true, env: { SENSE_CACHE: CACHE } }).trim().split('\n').pop();
  const bin = join(cache, 'code-server', 'node_modules', '.bin', 'code-server');
  const nodeBin = join(cache, 'node24', 'bin');
  if (!existsSync(bin) || !existsSync(join(nodeBin, 'node'))) throw new Error(`code-server is not in ${cache} after scripts/install-code-server.sh; run it by hand to see why.`);
  if (!quiet) console.log(`code-server: ${bin}`);
  return { bin, nodeBin };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Writes code-server's user settings (workspace trust off: the studio opens the samples without a prompt). */
export function writeUserSettings(userDataDir, extra = {}) {
  const file = join(userDataDir, 'User', 'settings.json');
  mkdirSync(dirname(file), { recursive: true });
  let settings = {};
  if (existsSync(file)) {
    try {
      settings = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      settings = {};
    }
  }
  Object.assign(settings, { 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off' }, extra);
  writeFileSync(`${file}.tmp`, JSON.stringify(settings, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** Installs a VSIX into code-server's extensions folder. */
export function installVsix({ bin, nodeBin }, vsix, userDataDir, extensionsDir) {
  run(bin, ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'], {
    capture: true,
    env: { PATH: `${nodeBin}:${process.env.PATH}` },
  });
}

/**
 * Starts code-server on 127.0.0.1:`port` opening `folder`; resolves once it answers HTTP.
 * With `password`, code-server asks for it on a login page (it is passed in the PASSWORD
 * environment variable, which code-server removes from its own environment, never on the
 * command line, which every local user can read); without, it runs with `--auth none`,
 * which only the tests use, on a random port for the length of a test run. Returns the process, the address to open and `stop()`, which kills the
 * whole process group and waits for it. With `trust: true` workspace trust stays on (the
 * user settings must also say `security.workspace.trust.enabled: true`), so a folder opens
 * in Restricted Mode until it is trusted.
 */
export async function startCodeServer({ bin, nodeBin }, { port, userDataDir, extensionsDir, folder, log, trust = false, password }) {
  const args = ['--auth', password ? 'password' : 'none', '--bind-addr', `127.0.0.1:${port}`, ...(trust ? [] : ['--disable-workspace-trust']), '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override', '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, folder];
  const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` };
  delete env.PASSWORD;
  delete env.HASHED_PASSWORD;
  if (password) env.PASSWORD = password;
  const child = spawn(bin, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const exit = new Promise((r) => child.on('exit', () => { exited = true; r(); }));
  child.stdout.on('data', (d) => log?.(String(d)));
  child.stderr.on('data', (d) => log?.(String(d)));
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const timeout = new Promise((r) => setTimeout(r, 5000));
    await Promise.race([exit, timeout]);
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exit;
    }
  };
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`code-server exited before it answered on port ${port}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return { child, url, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`code-server did not answer on 127.0.0.1:${port} within 60 s`);
}

async function main() {
  const samples = join(ROOT, 'samples');
  console.log('Building Sense Studio and packaging the VSIX...');
  const vsix = buildVsix();
  console.log(`VSIX: ${vsix.path} (${(vsix.bytes / 1e6).toFixed(2)} MB)`);
  if (onPath('code') && !process.argv.includes('--code-server')) {
    console.log('Opening desktop VS Code with the extension from this folder...');
    const child = spawn('code', ['--extensionDevelopmentPath', ROOT, samples], { stdio: 'inherit', detached: true });
    child.unref();
    return;
  }
  console.log('`code` is not on PATH: starting VS Code in the browser (code-server) instead.');
  const cs = installCodeServer();
  const userDataDir = join(CACHE, 'studio', 'user-data');
  const extensionsDir = join(CACHE, 'studio', 'extensions');
  writeUserSettings(userDataDir);
  installVsix(cs, vsix.path, userDataDir, extensionsDir);
  const port = Number(process.env.PORT) || (await freePort());
  // Any local user can connect to 127.0.0.1, and the workbench has a terminal: a fresh
  // random password for each start keeps them out.
  const password = randomBytes(18).toString('base64url');
  const server = await startCodeServer(cs, { port, userDataDir, extensionsDir, folder: samples, password });
  console.log(`\nSense Studio is running. Open:\n\n  ${server.url}\n\nand log in with the password\n\n  ${password}\n\n(a new one on each start). Press Ctrl+C to stop.`);
  const shutdown = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  await new Promise((r) => server.child.on('exit', r));
  console.log('code-server exited.');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`npm start: ${e.message}`);
    process.exit(1);
  });
}
