/**
 * The Sense language server: the Node process VS Code starts (dist/language-server.cjs).
 * It does not import `vscode`; it speaks LSP over IPC/stdio and serves every editor
 * feature of language/ (diagnostics, completion, hover, outline, formatting, ...).
 */
import { existsSync } from 'node:fs';
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
// vscode-languageserver is a dependency of langium but not of this package, so npm
// nests it under langium/; import it from there until package.json lists it directly.
import { createConnection, ProposedFeatures } from '../../node_modules/langium/node_modules/vscode-languageserver/lib/node/main.js';
import { createSenseServices } from '../../language/sense-module';

const connection = createConnection(ProposedFeatures.all);
const { shared } = createSenseServices(
  { connection, ...NodeFileSystem },
  {
    fileExists: (path) => existsSync(path),
    // The cost estimator (engine/) is wired here once it is ready: pass a
    // PipelineEstimator built from engine/'s cost model, and hover, CodeLens and fit
    // warnings show latency and energy. Undefined shows no cost figures.
    estimator: undefined,
  },
);
startLanguageServer(shared);
