/**
 * The one edit model (engine/source-edits.ts): applying edits as VS Code does, the
 * minimal edit between two texts, and the comment policy shared by the graph's actions
 * and the optimizers' `--write`: no edit deletes a comment. The graph action and the
 * CLI's rewrite are run on the same commented text and both re-parsed by the language.
 */
import { describe, expect, it } from 'vitest';
import { autoCompress } from '../../../engine/auto-compress';
import { estimatePipeline } from '../../../engine/estimate';
import { rewritePlaceLines } from '../../../engine/partition/place-lines';
import { compressLinesEdits, placeSites, rewriteCompressLines } from '../../../engine/pipeline-text';
import {
  applyEdits,
  compressionEdits,
  deleteStatement,
  offsetAt,
  outlineOf,
  placementEdits,
  positionAt,
  rewriteStatementLines,
  type TextEdit,
} from '../../../engine/source-edits';
import type * as ast from '../../../language/generated/ast';
import { buildDocument, createSenseServices } from '../../../language/sense-module';

const services = createSenseServices();
let n = 0;

async function parse(text: string): Promise<{ node: ast.Pipeline; spec: NonNullable<ReturnType<typeof services.Sense.lowering.Lowering.document>['pipelines'] extends Map<unknown, infer L> ? L : never>['spec'] }> {
  const doc = await buildDocument(services, text, `file:///tmp/source-edits-${n++}.sense`);
  const node = doc.parseResult.value.pipelines[0];
  const lowered = services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.get(node)!;
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  expect(errors.map((d) => d.message)).toEqual([]);
  return { node, spec: lowered.spec };
}

const COMMENTED = [
  'pipeline P {',
  '  input audio { rate 16 kHz window 1 s }',
  '  features { frames 25 ms hop 10 ms logmel 40 bands }',
  '  shared s { flatten dense 1024 relu dense 1024 relu }',
  '  head h from s { dense 2 softmax }',
  '  target snapdragon800',
  '  compress s.3 svd rank 900 // measured on the board: keeps accuracy',
  '  place s on dsp // the DSP is idle otherwise',
  '}',
  '',
].join('\n');

describe('applyEdits', () => {
  it('applies edits given in any order against the original text, insertions before a replacement at the same place', () => {
    const text = 'abc\ndef\nghi';
    const edits: TextEdit[] = [
      { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 3 } }, newText: 'GHI' },
      { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 1 } }, newText: '1' },
      { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 1 } }, newText: '2' },
      { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 2 } }, newText: 'B' },
    ];
    // Independent reference: the same splice written by hand.
    expect(applyEdits(text, edits)).toBe('a12Bc\ndef\nGHI');
  });

  it('refuses overlapping edits instead of guessing', () => {
    const r = (a: number, b: number) => ({ start: { line: 0, character: a }, end: { line: 0, character: b } });
    expect(() => applyEdits('abcdef', [{ range: r(0, 3), newText: '' }, { range: r(2, 4), newText: 'x' }])).toThrow(/Overlapping edits/);
  });

  it('maps offsets and positions both ways, with \\r\\n line breaks', () => {
    const text = 'ab\r\ncd\r\n';
    for (let o = 0; o <= text.length; o++) if (text[o - 1] !== '\r') expect(offsetAt(text, positionAt(text, o))).toBe(o);
    expect(positionAt(text, 4)).toEqual({ line: 1, character: 0 });
  });
});

describe('the comment policy', () => {
  it('deleting a statement alone on its line keeps its trailing comment on its own line', () => {
    const text = '  compress s.2 int8 // why\n  next\n';
    expect(applyEdits(text, [deleteStatement(text, { start: { line: 0, character: 2 }, end: { line: 0, character: 19 } })])).toBe('  // why\n  next\n');
    const bare = '  compress s.2 int8\n  next\n';
    expect(applyEdits(bare, [deleteStatement(bare, { start: { line: 0, character: 2 }, end: { line: 0, character: 19 } })])).toBe('  next\n');
  });

  it('the graph removing a compression and Auto-Compress rewriting it both keep the comment', async () => {
    const { node, spec } = await parse(COMMENTED);
    const outline = outlineOf(node, spec, COMMENTED);
    const removed = applyEdits(COMMENTED, compressionEdits(COMMENTED, outline, spec!, 's.3', undefined));
    expect(removed).toContain('  // measured on the board: keeps accuracy\n');
    expect(removed).not.toContain('compress s.3');
    const replaced = applyEdits(COMMENTED, compressionEdits(COMMENTED, outline, spec!, 's.3', { kind: 'svd', criterion: 'rank', rank: 8 }));
    expect(replaced).toContain('  compress s.3 svd rank 8 // measured on the board: keeps accuracy\n');

    // Auto-Compress's rewrite of the same line, as `sense compress --write` does it.
    // A limit just under the file's own latency: the plan must compress some layer.
    const result = autoCompress(spec!, { kind: 'within', latencyMs: estimatePipeline(spec!).endToEndLatencyMs * 0.8 });
    expect(result.feasible).toBe(true);
    const changed = result.layers.filter((l) => l.changed).map((l) => l.layerId);
    expect(changed).toContain('s.3');
    const rewritten = rewriteCompressLines(COMMENTED, node, spec!, result);
    expect(rewritten).toContain('  // measured on the board: keeps accuracy\n');
    expect(rewritten).not.toContain('svd rank 900');
    expect(applyEdits(COMMENTED, compressLinesEdits(COMMENTED, node, spec!, result))).toBe(rewritten);
    await parse(rewritten);
  });

  it('placing and Auto-Partition keep the comment of the place line they replace', async () => {
    const { node, spec } = await parse(COMMENTED);
    const outline = outlineOf(node, spec, COMMENTED);
    const moved = applyEdits(COMMENTED, placementEdits(COMMENTED, outline, spec!, ['s'], 'cpu'));
    expect(moved).toContain('  // the DSP is idle otherwise\n  place s on cpu\n');
    await parse(moved);
    const partitioned = rewritePlaceLines(COMMENTED, placeSites(COMMENTED, node), ['place s on cpu']);
    expect(partitioned).toContain('  place s on cpu\n  // the DSP is idle otherwise\n');
    await parse(partitioned);
  });

  it('a rewrite keeps every byte outside the replaced statements, and one without statements writes nothing', () => {
    const text = '{\n  a 1\n  place x on y\n  place z on w // keep\n  b 2\n}';
    const sites = { existing: [{ start: text.indexOf('place x'), end: text.indexOf('place x') + 12 }, { start: text.indexOf('place z'), end: text.indexOf('place z') + 12 }], insertBefore: text.indexOf('b 2'), indent: '  ' };
    expect(rewriteStatementLines(text, sites, ['place q on r'])).toBe('{\n  a 1\n  place q on r\n  // keep\n  b 2\n}');
    expect(rewriteStatementLines(text, { existing: [], insertBefore: text.indexOf('b 2'), indent: '  ' }, [])).toBe(text);
  });
});
