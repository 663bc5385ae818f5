/**
 * The Sense language server: the Node process VS Code starts (dist/language-server.cjs).
 * It does not import `vscode`; it speaks LSP over IPC/stdio and serves every editor
 * feature of language/ (diagnostics, completion, hover, outline, formatting, ...).
 */
import { existsSync } from 'node:fs';
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { createSenseServices } from '../../language/sense-module';
import { engineEstimator } from '../../engine/estimate';

const connection = createConnection(ProposedFeatures.all);
const { shared } = createSenseServices(
  { connection, ...NodeFileSystem },
  {
    fileExists: (path) => existsSync(path),
    // engine/'s cost model: hover, CodeLens and fit warnings show latency and energy.
    estimator: engineEstimator,
  },
);
startLanguageServer(shared);
