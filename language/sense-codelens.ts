/**
 * CodeLens: above each head its estimated latency (when its output is ready), energy
 * and processors; above each pipeline the end-to-end figures. Shown only when an
 * estimator is injected (the language server injects engine/'s, with the studio's measured
 * device profiles applied; the lenses then name them).
 */
import type { LangiumDocument, MaybePromise } from 'langium';
import type { CodeLensProvider } from 'langium/lsp';
import type { CodeLens, CodeLensParams } from 'vscode-languageserver-protocol';
import type * as ast from './generated/ast';
import { measuredNote } from './estimator';
import { formatHours, formatMj, formatMs } from './figures';
import type { SenseServices } from './sense-module';

/** The command a lens runs; the extension opens the graph focused on the block. */
export const SHOW_IN_GRAPH_COMMAND = 'senseStudio.showInGraph';

/** Builds the lenses from the cached lowering and estimate of the document. */
export class SenseCodeLensProvider implements CodeLensProvider {
  constructor(private readonly services: SenseServices) {}

  provideCodeLens(document: LangiumDocument, _params: CodeLensParams): MaybePromise<CodeLens[] | undefined> {
    const model = document.parseResult.value as ast.Model;
    const lowering = this.services.lowering.Lowering.document(model);
    const lenses: CodeLens[] = [];
    const uri = document.uri.toString();
    for (const [pipeline, estimate] of lowering.estimates) {
      const range = pipeline.$cstNode?.range;
      const measured = measuredNote(estimate);
      if (range) {
        const battery = estimate.batteryLifeHours !== undefined ? ` · battery ${formatHours(estimate.batteryLifeHours)}` : '';
        lenses.push({
          range: { start: range.start, end: range.start },
          command: {
            title: `end-to-end ${formatMs(estimate.endToEndLatencyMs)} · ${formatMj(estimate.energyPerInferenceMj)} per inference${battery}${measured}`,
            command: SHOW_IN_GRAPH_COMMAND,
            arguments: [uri, pipeline.name],
          },
        });
      }
      for (const head of estimate.heads) {
        const node = pipeline.blocks.find((b) => b.name === head.head && b.$type === 'Head');
        const r = node?.$cstNode?.range;
        if (!r) continue;
        lenses.push({
          range: { start: r.start, end: r.start },
          command: {
            title: `${head.head}: ready at ${formatMs(head.latencyMs)} · ${formatMj(head.energyMj)} · on ${head.processors.join(', ') || '—'}${measured}`,
            command: SHOW_IN_GRAPH_COMMAND,
            arguments: [uri, head.head],
          },
        });
      }
    }
    return lenses;
  }
}
