/**
 * The graph editor's pure host logic: the view state built from the real language and
 * engine, and the text edits behind Apply, place and Select Target Device, checked by
 * re-parsing the edited text with the language (not by comparing against our own output).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEdits, buildViewState, compressionEdits, compressionText, layerAt, placementEdits, revealRange, targetEdits, type SourceDiagnostic } from '../../../extension/graph-model';
import { TestAnalyzer, type AnalysedPipeline } from './analysis';
import { FEATURES_KEY } from '../../../language/pipeline-model';
import { FEATURES_NODE_ID, ViewStateSchema, checkViewState } from '../../../webview/protocol';

const root = join(import.meta.dirname, '../../..');
const designText = readFileSync(join(root, 'test/unit/language/fixtures/design-example.sense'), 'utf8');
const analyzer = new TestAnalyzer();
let n = 0;

async function analyse(text: string): Promise<{ p: AnalysedPipeline; diagnostics: SourceDiagnostic[] }> {
  // A fresh URI per call, so no document is confused with an earlier version.
  const a = await analyzer.analyse(text, `file:///tmp/graph-model-${n++}.sense`);
  return { p: a.pipelines[0], diagnostics: a.diagnostics };
}

/** Errors and warnings, except the missing weights file (these texts live at /tmp without one). */
function problems(diagnostics: { severity?: number; message: string; code?: string | number }[]): string[] {
  return diagnostics.filter((d) => (d.severity === 1 || d.severity === 2) && d.code !== 'missing-weights-file').map((d) => d.message);
}

describe('buildViewState', () => {
  it('adapts the design example to a valid protocol state with the engine figures', async () => {
    const { p, diagnostics } = await analyse(designText);
    expect(problems(diagnostics)).toEqual([]);
    expect(p.estimate).toBeDefined();
    const state = buildViewState({ spec: p.spec!, estimate: p.estimate!, documentVersion: 7, diagnostics });
    expect(ViewStateSchema.safeParse(state).success).toBe(true);
    expect(checkViewState(state)).toEqual([]);
    expect(state.documentVersion).toBe(7);
    expect(state.layers.map((l) => l.id)).toEqual(['encoder.1', 'encoder.2', 'encoder.3', 'ambient.1', 'ambient.2', 'speaker.1', 'speaker.2']);
    // encoder.2 is `svd rank 256` on a 1024 x 4000 matrix (40 bands x 100 frames... as lowered):
    // two factors hold k(in + out) weights and the second keeps the bias, out.
    const enc2 = state.layers.find((l) => l.id === 'encoder.2')!;
    const [inWidth] = enc2.inputShape.slice(-1);
    expect(enc2.params).toBe(256 * (inWidth + 1024) + 1024);
    expect(enc2.compression).toEqual({ kind: 'svd', criterion: 'rank', rank: 256 });
    expect(enc2.processor).toBe('dsp');
    expect(state.layers.find((l) => l.id === 'speaker.1')!.processor).toBe('cpu');
    // The edge into speaker.1 crosses from the dsp to the cpu: 1024 float32 values.
    expect(state.edges.find((e) => e.target === 'speaker.1')).toMatchObject({ source: 'encoder.3', shape: [1024], transferBytes: 4096 });
    expect(state.totals.endToEndLatencyMs).toBe(p.estimate!.endToEndLatencyMs);
    expect(state.totals.energyPerInferenceMj).toBe(p.estimate!.energyPerInferenceMj);
    expect(state.target.processors.map((x) => x.name)).toEqual(p.spec!.target.processors.map((x) => x.name));
    expect(state.optimize).toEqual({ alpha: 0.7, beta: 0.3 });
    expect(state.timeline.length).toBeGreaterThan(0);
  });

  it('puts a diagnostic inside a layer on that layer and others in the banner', async () => {
    const { p } = await analyse(designText);
    const enc3 = p.spec!.blocks[0].layers[2];
    const state = buildViewState({
      spec: p.spec!,
      estimate: p.estimate!,
      documentVersion: 1,
      diagnostics: [
        { severity: 1, code: 'x-in-layer', message: 'in the layer', range: { start: enc3.range.start, end: enc3.range.start } },
        { severity: 2, code: 'x-outside', message: 'outside', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } },
      ],
    });
    expect(state.layers.find((l) => l.id === 'encoder.3')!.diagnostics).toEqual([{ severity: 'error', code: 'x-in-layer', message: 'in the layer' }]);
    expect(state.diagnostics).toContainEqual({ severity: 'warning', code: 'x-outside', message: 'outside' });
  });
});

describe('compressionEdits', () => {
  it('replaces an existing compress line in place, and the estimate follows', async () => {
    const { p } = await analyse(designText);
    const edits = compressionEdits(designText, p.outline, p.spec!, 'encoder.2', { kind: 'svd', criterion: 'rank', rank: 64 });
    expect(edits).toHaveLength(1);
    const next = applyEdits(designText, edits);
    expect(next).toContain('compress encoder.2 svd rank 64 // block.index');
    expect(next.split('\n').length).toBe(designText.split('\n').length);
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    expect(after.p.spec!.blocks[0].layers[1].compression).toEqual({ kind: 'svd', criterion: 'rank', rank: 64 });
    expect(after.p.estimate!.energyPerInferenceMj).toBeLessThan(p.estimate!.energyPerInferenceMj);
  });

  it('inserts a new compress line after the last one, and removing it restores the text', async () => {
    const { p } = await analyse(designText);
    const next = applyEdits(designText, compressionEdits(designText, p.outline, p.spec!, 'encoder.3', { kind: 'svd', criterion: 'energy', fraction: 0.95 }));
    const lines = next.split('\n');
    const i = lines.findIndex((l) => l.includes('compress encoder.3'));
    expect(lines[i]).toBe('  compress encoder.3 svd energy 95%');
    expect(lines[i - 1]).toContain('compress encoder.2');
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    // 95 % lowers to 95 x 0.01, which is 0.95 within a float's rounding.
    expect(after.p.spec!.blocks[0].layers[2].compression).toMatchObject({ kind: 'svd', criterion: 'energy' });
    expect((after.p.spec!.blocks[0].layers[2].compression as { fraction: number }).fraction).toBeCloseTo(0.95, 12);
    // The engine now factorises the layer into DeepX's two layers.
    expect(after.p.estimate!.layers.find((l) => l.layerId === 'encoder.3')!.ops).toHaveLength(2);
    const removed = applyEdits(next, compressionEdits(next, after.p.outline, after.p.spec!, 'encoder.3', undefined));
    expect(removed).toBe(designText);
  });

  it('writes every method the protocol offers in the language syntax', async () => {
    const { p } = await analyse(designText);
    for (const method of [
      { kind: 'svd', criterion: 'error', fraction: 0.025 },
      { kind: 'sparse', atoms: 128, nonzeros: 8 },
      { kind: 'int8' },
    ] as const) {
      const next = applyEdits(designText, compressionEdits(designText, p.outline, p.spec!, 'ambient.1', method));
      expect(next).toContain(`compress ambient.1 ${compressionText(method)}`);
      const after = await analyse(next);
      expect(problems(after.diagnostics)).toEqual([]);
      expect(after.p.spec!.blocks.find((b) => b.name === 'ambient')!.layers[0].compression).toEqual(method);
    }
  });

  it('inserts before the closing brace of a pipeline that has no statements after its blocks', async () => {
    const text = 'pipeline P {\n  input audio { rate 16 kHz window 1 s }\n  features { frames 25 ms hop 10 ms logmel 40 bands }\n  shared s { flatten dense 64 relu }\n  head h from s { dense 2 softmax }\n  target snapdragon800\n}\n';
    const { p } = await analyse(text);
    const next = applyEdits(text, compressionEdits(text, p.outline, p.spec!, 's.2', { kind: 'int8' }));
    expect(next).toBe(text.replace('  target snapdragon800\n', '  target snapdragon800\n  compress s.2 int8\n'));
    expect(problems((await analyse(next)).diagnostics)).toEqual([]);
  });

  it('refuses a layer the pipeline does not have', async () => {
    const { p } = await analyse(designText);
    expect(() => compressionEdits(designText, p.outline, p.spec!, 'encoder.9', { kind: 'int8' })).toThrow(/no layer encoder\.9/);
  });
});

describe('placementEdits and targetEdits', () => {
  it('moves one layer out of a block placement without leaving a conflict', async () => {
    const { p } = await analyse(designText);
    const next = applyEdits(designText, placementEdits(designText, p.outline, p.spec!, ['encoder.2'], 'cpu'));
    expect(next).toContain('place encoder.1, encoder.3, ambient on dsp');
    expect(next).toContain('place speaker on cpu\n  place encoder.2 on cpu\n');
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    expect(after.p.spec!.placement).toMatchObject({ 'encoder.1': 'dsp', 'encoder.2': 'cpu', 'encoder.3': 'dsp', 'ambient.1': 'dsp', 'speaker.1': 'cpu' });
  });

  it('deletes a place line whose targets all move', async () => {
    const { p } = await analyse(designText);
    const next = applyEdits(designText, placementEdits(designText, p.outline, p.spec!, ['speaker'], 'gpu'));
    expect(next).not.toContain('place speaker on cpu');
    expect(next).toContain('place speaker on gpu');
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    expect(after.p.spec!.placement['speaker.2']).toBe('gpu');
  });

  it('refuses a processor the target does not have', async () => {
    const { p } = await analyse(designText);
    expect(() => placementEdits(designText, p.outline, p.spec!, ['speaker'], 'npu')).toThrow(/has no processor 'npu'/);
  });

  it('replaces the target line', async () => {
    const { p } = await analyse(designText);
    const next = applyEdits(designText, targetEdits(designText, p.outline, 'WristBand'));
    expect(next).toContain('  target WristBand            // built-in device');
    const after = await analyse(next);
    expect(after.p.spec!.target.name).toBe('WristBand');
  });
});

describe('outlineOf on half-typed text', () => {
  it('does not throw when error recovery leaves references out', async () => {
    for (const broken of [designText.replace('target snapdragon800', 'target'), designText.replace('place speaker on cpu', 'place speaker on'), designText.replace('compress encoder.2 svd rank 256', 'compress')]) {
      const a = await analyzer.analyse(broken, `file:///tmp/graph-model-broken-${n++}.sense`);
      expect(a.diagnostics.some((d) => d.severity === 1)).toBe(true);
      expect(a.pipelines[0].outline.name).toBe('DeepEar');
    }
  });
});

describe('layerAt and revealRange', () => {
  it('finds the layer under a position and the range of a layer or block', async () => {
    const { p } = await analyse(designText);
    const enc3 = p.spec!.blocks[0].layers[2];
    // On the view state the graph editor holds, as it answers the cursor and the webview's reveal.
    const state = buildViewState({ spec: p.spec!, estimate: p.estimate!, documentVersion: 1, diagnostics: [] });
    expect(layerAt(state, { line: enc3.range.start.line, character: enc3.range.start.character + 1 })).toBe('encoder.3');
    expect(layerAt(state, { line: 0, character: 0 })).toBeNull();
    expect(revealRange(state, 'encoder.3')).toEqual(enc3.range);
    expect(revealRange(state, 'speaker')).toEqual(p.spec!.blocks.find((b) => b.name === 'speaker')!.range);
    expect(revealRange(state, 'nothing')).toBeUndefined();
  });
});

describe('the feature front end\'s name', () => {
  it('is the same string in the core and in the webview protocol, which cannot import the core', () => {
    expect(FEATURES_NODE_ID).toBe(FEATURES_KEY);
  });
});
