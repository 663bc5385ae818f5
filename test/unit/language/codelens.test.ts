import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import { engineEstimator, estimatePipeline } from '../../../engine/estimate';

const deepear = readFileSync('samples/deepear/deepear.sense', 'utf8');

describe('CodeLens per head', () => {
  it('shows each head\'s ready time, energy and processors from the estimate, and the pipeline totals', async () => {
    const services = createSenseServices(undefined, { estimator: engineEstimator });
    const doc = await buildDocument(services, deepear, 'file:///lens/deepear.sense');
    const lenses = (await services.Sense.lsp.CodeLensProvider!.provideCodeLens(doc, { textDocument: { uri: doc.uri.toString() } })) ?? [];
    const spec = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0].spec!;
    const estimate = estimatePipeline(spec);
    expect(lenses).toHaveLength(1 + spec.blocks.filter((b) => b.kind === 'head').length);
    const text = lenses.map((l) => l.command!.title);
    for (const head of estimate.heads) {
      const line = text.find((t) => t.startsWith(`${head.head}:`));
      expect(line, head.head).toBeDefined();
      // Independent formatting of the same numbers: 2 decimals below 10.
      expect(line).toContain(`${head.latencyMs < 10 ? head.latencyMs.toFixed(2) : head.latencyMs.toFixed(1)} ms`);
    }
    expect(text[0]).toContain(`${estimate.endToEndLatencyMs.toFixed(2)} ms`);
    // The head lens sits on the head's first line.
    const ambient = lenses.find((l) => l.command!.title.startsWith('ambient:'))!;
    expect(deepear.split('\n')[ambient.range.start.line]).toMatch(/head ambient/);
  });

  it('shows nothing without an estimator', async () => {
    const services = createSenseServices();
    const doc = await buildDocument(services, deepear, 'file:///lens/deepear2.sense');
    const lenses = await services.Sense.lsp.CodeLensProvider!.provideCodeLens(doc, { textDocument: { uri: doc.uri.toString() } });
    expect(lenses).toEqual([]);
  });
});
