// Benchmark-only extension, installed by test/bench/vscode.bench.ts next to the studio's
// VSIX. It runs in the same extension host process as the studio, so a histogram of this
// process's event-loop delay sees every synchronous stretch of the studio's work. The
// benchmark reads it over HTTP on 127.0.0.1 (a random port, written to a file in the
// workspace) rather than through the command palette, which would itself busy the
// workbench between the actions it measures.
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { createServer } = require('node:http');
const { join } = require('node:path');
const { Session } = require('node:inspector');
const { monitorEventLoopDelay, performance, PerformanceObserver } = require('node:perf_hooks');
const vscode = require('vscode');

// The file the benchmark polls for the port, in the first workspace folder.
const PORT_FILE = '.sense-bench-probe.json';
// The CPU profile /profile-stop writes, in the first workspace folder.
const PROFILE_FILE = '.sense-bench-host.cpuprofile';
// The stall detector's timer period and the stalls it reports, in ms.
const TICK_MS = 5;
const STALL_MS = 25;
// Timer period of the histogram in ms; each recorded value includes this period.
const RESOLUTION_MS = 1;

function activate(context) {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const nsToMs = (ns) => ns / 1e6;
  // Garbage collections of this process since the last reset: a delay that coincides with a
  // long collection is the collector's, whoever allocated.
  let gcs = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ durationMs: e.duration, kind: e.detail?.kind ?? 0 });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  // Each stall of this thread over STALL_MS with the CPU time the process used meanwhile:
  // a stall during which the process used far less CPU than the stall lasted was a wait for
  // a core (a loaded machine) or a blocking call, not computation.
  let stalls = [];
  let lastTickMs = performance.now();
  let lastCpu = process.cpuUsage();
  const ticker = setInterval(() => {
    const nowMs = performance.now();
    const cpu = process.cpuUsage();
    if (nowMs - lastTickMs - TICK_MS > STALL_MS)
      stalls.push({ stallMs: nowMs - lastTickMs - TICK_MS, cpuMs: (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 });
    lastTickMs = nowMs;
    lastCpu = cpu;
  }, TICK_MS);
  // A CPU profile of the extension host between /profile-start and /profile-stop, written
  // into the workspace for the benchmark to attribute a long delay to the code that ran.
  let session;
  const server = createServer((req, res) => {
    let body;
    if (req.url === '/reset') {
      histogram.reset();
      gcs = [];
      stalls = [];
      body = { ok: true };
    } else if (req.url === '/profile-start') {
      session = new Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
      body = { ok: true };
    } else if (req.url === '/profile-stop') {
      if (!session) {
        res.writeHead(409, { 'content-type': 'text/plain' }).end('no profile is being recorded; call /profile-start first');
        return;
      }
      const file = join(folder.uri.fsPath, PROFILE_FILE);
      session.post('Profiler.stop', (err, result) => {
        session.disconnect();
        session = undefined;
        if (err) return res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err.message ?? err));
        writeFileSync(file, JSON.stringify(result.profile));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ file }));
      });
      return;
    } else if (req.url === '/read') {
      body = {
        resolutionMs: RESOLUTION_MS,
        count: histogram.count,
        maxMs: histogram.count > 0 ? nsToMs(histogram.max) : 0,
        p99Ms: histogram.count > 0 ? nsToMs(histogram.percentile(99)) : 0,
        meanMs: histogram.count > 0 ? nsToMs(histogram.mean) : 0,
        gcCount: gcs.length,
        gcMaxMs: gcs.reduce((m, g) => Math.max(m, g.durationMs), 0),
        gcTotalMs: gcs.reduce((t, g) => t + g.durationMs, 0),
        stalls,
      };
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`unknown path ${req.url}; use /reset, /read, /profile-start or /profile-stop`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1', () => {
    const file = join(folder.uri.fsPath, PORT_FILE);
    // Written whole, then renamed, so the benchmark never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ port: server.address().port, pid: process.pid }));
    renameSync(`${file}.tmp`, file);
  });
  context.subscriptions.push({
    dispose: () => {
      histogram.disable();
      clearInterval(ticker);
      gcObserver.disconnect();
      session?.disconnect();
      server.close();
    },
  });
}

function deactivate() {}

module.exports = { activate, deactivate };
