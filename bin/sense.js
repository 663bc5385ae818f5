#!/usr/bin/env node
// The `sense` command. Runs the bundle built by `npm run build` (npm install builds it).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.mjs');
if (!existsSync(bundle)) {
  console.error('sense: dist/cli.mjs is missing; run "npm run build" in the Sense Studio folder first.');
  process.exit(2);
}
await import(pathToFileURL(bundle).href);
