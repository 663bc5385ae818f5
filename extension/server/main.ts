/**
 * The Sense language server: the Node process VS Code starts (dist/language-server.cjs).
 * It does not import `vscode`; it speaks LSP over IPC/stdio and serves every editor
 * feature of language/ (diagnostics, completion, hover, outline, formatting, ...), with
 * the studio's measured device profiles applied to its estimates (./device-profiles.ts). It
 * reads the workspace's `.sense` files through io/user-files.ts (./user-file-system.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLanguageServer } from 'langium/lsp';
import { CodeLensRefreshRequest, createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { createSenseServices } from '../../language/sense-module';
import { engineEstimator } from '../../engine/estimate';
import { DEVICE_PROFILES_NOTIFICATION, MeasuredProfiles, receiveDeviceProfiles } from './device-profiles';
import { registerStudioRequests, STUDIO_WORKERS } from './studio-connection';
import { relinkStaleReferences } from './stale-links';
import { WorkerPool } from './worker-pool';
import { UserFileSystem } from './user-file-system';

const connection = createConnection(ProposedFeatures.all);
const profiles = new MeasuredProfiles();
const services = createSenseServices(
  // The workspace's .sense files are read bounded and regular-file-only (./user-file-system.ts).
  { connection, ...UserFileSystem },
  {
    fileExists: (path) => existsSync(path),
    // engine/'s cost model with the measured profiles applied: hover, CodeLens and fit warnings show latency and energy.
    estimator: profiles.estimator(engineEstimator),
  },
);
let codeLensRefresh = false;
services.shared.lsp.LanguageServer.onInitialize((params) => {
  codeLensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
});
connection.onNotification(DEVICE_PROFILES_NOTIFICATION, (payload: unknown) => {
  void receiveDeviceProfiles(payload, {
    services,
    store: profiles,
    log: (message) => connection.console.info(message),
    ready: services.shared.workspace.WorkspaceManager.ready,
    refreshCodeLens: async () => {
      if (codeLensRefresh) await connection.sendRequest(CodeLensRefreshRequest.type);
    },
  });
});
// A cancelled build can leave a reference unresolved after its target is indexed; relink such documents.
relinkStaleReferences(services.shared);
registerStudioRequests(connection, { services, profiles, jobs: new WorkerPool(join(__dirname, 'analysis-worker.cjs'), STUDIO_WORKERS), fileExists: (path) => existsSync(path) });
startLanguageServer(services.shared);
