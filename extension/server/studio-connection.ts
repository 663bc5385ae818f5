/**
 * Registers the studio's requests (../lsp-ext.ts) on the server's connection, each answered
 * by {@link StudioRequests}; the long ones report LSP work-done progress when the client
 * passes a `workDoneToken`. Requests are registered by method name: the handlers take
 * `unknown` parameters and validate them, and the server's copy of the LSP types is not
 * the client's (two vscode-jsonrpc versions), so a typed registration would not check.
 */
import { availableParallelism } from 'node:os';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import * as ext from '../lsp-ext';
import { StudioRequests, type RequestProgress, type StudioHost } from './studio';

/** How many analysis workers the server starts at most: two (one keeps the inspector's spectrum cached while the other plans), one on a single core. */
export const STUDIO_WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1));

type Handler = (params: unknown, token: CancellationToken, progress: RequestProgress) => Promise<unknown>;

/** Registers every studio request on `connection`; returns the request handlers (for logs and tests). */
export function registerStudioRequests(connection: Connection, host: StudioHost): StudioRequests {
  const studio = new StudioRequests(host);
  const on = (method: string, title: string, handle: Handler): void => {
    connection.onRequest(method, async (params: unknown, token: CancellationToken) => {
      const reporter = connection.window.attachWorkDoneProgress((params as { workDoneToken?: string | number } | null)?.workDoneToken);
      let begun = false;
      const progress: RequestProgress = {
        report: (message) => {
          if (!begun) reporter.begin(title, undefined, undefined, true);
          begun = true;
          reporter.report(message);
        },
      };
      try {
        return await handle(params, token, progress);
      } finally {
        if (begun) reporter.done();
      }
    });
  };
  on(ext.viewStateRequest.method, 'Sense: graph', (p, t) => studio.viewState(p, t));
  on(ext.estimateRequest.method, 'Sense: estimate', (p, t) => studio.estimate(p, t));
  on(ext.sourceEditRequest.method, 'Sense: edit', (p, t) => studio.sourceEdit(p, t));
  on(ext.deviceNamesRequest.method, 'Sense: devices', (p, t) => studio.deviceNames(p, t));
  on(ext.pipelineSpecRequest.method, 'Sense: pipeline', (p, t) => studio.pipelineSpec(p, t));
  on(ext.compareRequest.method, 'Sense: compare', (p, t) => studio.compare(p, t));
  on(ext.onnxViewStateRequest.method, 'Sense: ONNX model', (p) => studio.onnxViewState(p));
  on(ext.onnxImportRequest.method, 'Sense: import ONNX model', (p) => studio.onnxImport(p));
  on(ext.layerSpectrumRequest.method, 'Sense: singular values', (p, t, progress) => studio.layerSpectrum(p, t, progress));
  on(ext.compressionPreviewRequest.method, 'Sense: compression preview', (p, t, progress) => studio.compressionPreview(p, t, progress));
  on(ext.compressionPlanRequest.method, 'Sense: Auto-Compress', (p, t, progress) => studio.compressionPlan(p, t, progress));
  on(ext.partitionPlanRequest.method, 'Sense: Auto-Partition', (p, t, progress) => studio.partitionPlan(p, t, progress));
  return studio;
}
