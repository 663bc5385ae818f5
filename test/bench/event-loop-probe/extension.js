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
const { monitorEventLoopDelay } = require('node:perf_hooks');
const vscode = require('vscode');

// The file the benchmark polls for the port, in the first workspace folder.
const PORT_FILE = '.sense-bench-probe.json';
// Timer period of the histogram in ms; each recorded value includes this period.
const RESOLUTION_MS = 1;

function activate(context) {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const nsToMs = (ns) => ns / 1e6;
  const server = createServer((req, res) => {
    let body;
    if (req.url === '/reset') {
      histogram.reset();
      body = { ok: true };
    } else if (req.url === '/read') {
      body = {
        resolutionMs: RESOLUTION_MS,
        count: histogram.count,
        maxMs: histogram.count > 0 ? nsToMs(histogram.max) : 0,
        p99Ms: histogram.count > 0 ? nsToMs(histogram.percentile(99)) : 0,
        meanMs: histogram.count > 0 ? nsToMs(histogram.mean) : 0,
      };
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`unknown path ${req.url}; use /reset or /read`);
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
      server.close();
    },
  });
}

function deactivate() {}

module.exports = { activate, deactivate };
