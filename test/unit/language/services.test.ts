/**
 * Editor services over the design example and small documents: hover (with and without
 * an injected estimator), completion, definition, references, rename, outline, folding,
 * semantic tokens and quick fixes. The cursor is placed with a marker `|` in the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LangiumDocument } from 'langium';
import { InsertTextFormat, type CodeAction, type CompletionItem } from 'vscode-languageserver-protocol';
import type { PipelineEstimator } from '../../../language/estimator';
import { applyEdits } from '../../../engine/source-edits';
import { build, codeOf, makeServices, type Services } from './helpers';

const here = new URL('.', import.meta.url).pathname;
const DESIGN = readFileSync(join(here, 'fixtures', 'design-example.sense'), 'utf8');

/** A fake estimator: each layer costs MACs / 1e6 ms and MACs / 1e7 mJ on the processor it is placed on, else dsp. */
const fakeEstimator: PipelineEstimator = (spec) => ({
  endToEndLatencyMs: 12.5,
  energyPerInferenceMj: 3.25,
  batteryLifeHours: 42,
  layers: spec.blocks.flatMap((b) => b.layers.map((l) => ({ layerId: l.id, processor: spec.placement[l.id] ?? 'dsp', latencyMs: l.macs / 1e6, energyMj: l.macs / 1e7 }))),
  heads: spec.blocks.filter((b) => b.kind === 'head').map((b) => ({ head: b.name, latencyMs: 7.5, energyMj: 1.5, processors: ['dsp'] })),
  issues: [],
});

/** Builds `text` with one `|` marking the cursor; returns the document and the cursor position. */
async function at(services: Services, marked: string): Promise<{ doc: LangiumDocument; position: { line: number; character: number } }> {
  const offset = marked.indexOf('|');
  const doc = await build(services, marked.slice(0, offset) + marked.slice(offset + 1));
  return { doc, position: doc.textDocument.positionAt(offset) };
}

/** The design example with the cursor on the `k`-th occurrence of `needle` plus `delta` characters. */
function design(needle: string, delta = 0, k = 0): string {
  let i = -1;
  for (let n = 0; n <= k; n++) i = DESIGN.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`'${needle}' not in the design example`);
  return DESIGN.slice(0, i + delta) + '|' + DESIGN.slice(i + delta);
}

async function hover(services: Services, marked: string): Promise<string | undefined> {
  const { doc, position } = await at(services, marked);
  const h = await services.Sense.lsp.HoverProvider!.getHoverContent(doc, { textDocument: { uri: doc.textDocument.uri }, position });
  return (h?.contents as { value: string } | undefined)?.value;
}

async function items(services: Services, marked: string): Promise<CompletionItem[]> {
  const { doc, position } = await at(services, marked);
  const list = await services.Sense.lsp.CompletionProvider!.getCompletion(doc, { textDocument: { uri: doc.textDocument.uri }, position });
  // Clients order items by sortText; so do the assertions.
  return (list?.items ?? []).sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label));
}

async function completions(services: Services, marked: string): Promise<string[]> {
  return (await items(services, marked)).map((i) => i.label);
}

describe('hover', () => {
  const plain = makeServices();
  const estimated = makeServices(fakeEstimator);

  it('shows a layer with shapes, parameters, MACs and activation memory, and no costs without an estimator', async () => {
    const text = await hover(plain, design('dense 1024 relu', 2));
    expect(text).toContain('**encoder.2** `dense 1024 relu`');
    // 40 bands x 98 frames flattened = 3920 inputs; 3920 x 1024 weights + 1024 biases.
    expect(text).toContain('| input | [3920] |');
    expect(text).toContain('| output | [1024] |');
    expect(text).toContain('| parameters | 4,015,104 (15.3 MiB float32) |');
    expect(text).toContain('| activation memory | 4 KiB |');
    expect(text).toContain('| compression | svd rank 256 |');
    expect(text).toContain('| processor | dsp on snapdragon800 (placed) |');
    expect(text).not.toContain('latency');
  });

  it('adds latency, energy and processor from an injected estimator', async () => {
    const text = await hover(estimated, design('dense 512 relu', 1, 1));
    // speaker.1: 1024 x 512 + 512 = 524,800 MACs -> 0.5248 ms and 0.05248 mJ with the fake estimator.
    expect(text).toContain('**speaker.1**');
    expect(text).toContain('| latency | 0.525 ms |');
    expect(text).toContain('| energy | 0.0525 mJ |');
    expect(text).toContain('| processor | cpu on snapdragon800 (placed) |');
    const pipeline = await hover(estimated, design('DeepEar {', 2));
    expect(pipeline).toContain('| end-to-end latency | 12.5 ms |');
    expect(pipeline).toContain('| battery life | 42 h |');
    const head = await hover(estimated, design('ambient from', 1));
    expect(head).toContain('| latency to output | 7.5 ms |');
  });

  it('tells the block part of encoder.2 from its layer part', async () => {
    expect(await hover(plain, design('encoder.2', 3))).toContain('**shared encoder**');
    expect(await hover(plain, design('encoder.2', 8))).toContain('**encoder.2**');
  });

  it('shows devices and processors with figures and sources, and units in base units', async () => {
    const device = await hover(plain, design('snapdragon800', 3));
    expect(device).toContain('**device snapdragon800** (built-in)');
    expect(device).toContain('| dsp | 1.6 GMAC/s | 16 MiB | 180 mW | 2 mW |');
    expect(device).toContain('Battery: 2300 mAh at 3.8 V');
    const processor = await hover(plain, design('on dsp', 4));
    expect(processor).toContain('**processor dsp** of snapdragon800');
    expect(processor).toContain('Hexagon QDSP6 V5A');
    expect(processor).toContain('Sources: Qualcomm Hexagon DSP SDK documentation (2013)');
    expect(await hover(plain, design('16 kHz', 4))).toContain('`16 kHz` = 16000 Hz');
    expect(await hover(plain, design('logmel', 2))).toContain('| output | [40, 98] |');
  });

  it('shows a custom processor\'s measured front-end throughput and dispatch cost', async () => {
    const text = 'pipeline P {\n  target Mine\n}\ndevice Mine { processor c|pu { compute 1 GMAC/s  memory 1 MB  power 1 mW  frontend 250 MMAC/s  dispatch 0.3 ms } }\n';
    const h = await hover(plain, text);
    expect(h).toContain('| front end | 250 MMAC/s |');
    expect(h).toContain('| dispatch per partition run | 0.3 ms |');
    expect(await completions(plain, 'device D { processor cpu { compute 1 GMAC/s  | } }\n')).toEqual(expect.arrayContaining(['dispatch', 'frontend']));
  });
});

describe('completion', () => {
  const services = makeServices();

  it('offers layer kinds and activations at the start of a layer line', async () => {
    const items = await completions(services, 'pipeline P {\n  shared e {\n    |\n  }\n}\n');
    expect(items).toEqual(expect.arrayContaining(['dense', 'conv1d', 'conv2d', 'maxpool', 'gru', 'lstm', 'flatten', 'relu', 'softmax']));
  });

  it('offers built-in and custom devices after target', async () => {
    const items = await completions(services, 'pipeline P {\n  target |\n}\ndevice Mine { processor cpu { compute 1 GMAC/s  memory 1 MB  power 1 mW } }\n');
    expect(items).toEqual(expect.arrayContaining(['snapdragon800', 'tegrak1', 'edison', 'snapdragon8gen3', 'nrf52840', 'host', 'Mine']));
  });

  it("offers the target's processors after place ... on", async () => {
    const items = await completions(services, 'pipeline P {\n  shared e { dense 4 }\n  target tegrak1\n  place e on |\n}\n');
    expect(items.filter((i) => ['cpu', 'gpu', 'dsp', 'npu'].includes(i)).sort()).toEqual(['cpu', 'gpu']);
  });

  it('offers block names, named layers and layer positions', async () => {
    const text = 'pipeline P {\n  shared enc { flatten  fc1: dense 4 }\n  head h from enc { dense 2 }\n  compress |\n}\n';
    expect(await completions(services, text)).toEqual(expect.arrayContaining(['enc', 'h']));
    const layers = await completions(services, text.replace('compress |', 'compress enc.|'));
    expect(layers).toEqual(expect.arrayContaining(['fc1', '1', '2']));
  });

  it('offers layer kinds, with docs and snippets, only where a layer line starts', async () => {
    const empty = await items(services, 'pipeline P {\n  shared e {\n    dense 8\n    |\n  }\n}\n');
    const dense = empty.find((i) => i.label === 'dense')!;
    expect(dense.insertText).toBe('dense ${1:64} ${2:relu}');
    expect(dense.insertTextFormat).toBe(InsertTextFormat.Snippet);
    expect(JSON.stringify(dense.documentation)).toContain('UNITS outputs');
    // Names that are keywords elsewhere (`place`, `energy`) are not statements inside a block.
    expect(empty.map((i) => i.label)).not.toContain('place');
    expect(empty.every((i) => i.documentation !== undefined), 'every item documented').toBe(true);
    expect(await completions(services, 'pipeline P {\n  shared e { fc: | }\n}\n')).toContain('conv1d');
    // After `dense 64 ` the line needs its activation; no layer kind, no statement.
    const afterDense = await items(services, 'pipeline P {\n  shared e {\n    dense 64 |\n  }\n}\n');
    expect(afterDense.map((i) => i.label).sort()).toEqual(['elu', 'gelu', 'leakyrelu', 'linear', 'relu', 'sigmoid', 'softmax', 'tanh']);
    expect(afterDense.every((i) => i.detail === 'activation' && i.documentation !== undefined)).toBe(true);
    expect(await completions(services, 'pipeline P {\n  shared e {\n    dense 64 relu |\n  }\n}\n')).toEqual([]);
    expect(await completions(services, 'pipeline P {\n  shared e {\n    conv1d 8 kernel 3 |\n  }\n}\n')).toEqual(expect.arrayContaining(['x', 'stride', 'padding', 'relu']));
    expect(await completions(services, 'pipeline P {\n  shared e {\n    conv1d 8 kernel 3 |\n  }\n}\n')).not.toContain('dense');
    // Outside a block no layer can stand.
    const statements = await completions(services, 'pipeline P {\n  |\n}\n');
    expect(statements).toEqual(expect.arrayContaining(['input', 'features', 'shared', 'head', 'target', 'compress', 'place']));
    expect(statements).not.toContain('dense');
  });

  it('offers the settings of the input modality, labels in a head, and documented devices after target', async () => {
    expect((await completions(services, 'pipeline P {\n  input audio { | }\n}\n')).sort()).toEqual(['channels', 'hop', 'rate', 'window']);
    expect((await completions(services, 'pipeline P {\n  input image { | }\n}\n')).sort()).toEqual(['channels', 'period', 'size']);
    expect(await completions(services, 'pipeline P {\n  input inertial { | }\n}\n')).toEqual(expect.arrayContaining(['accelerometer', 'rate']));
    expect(await completions(services, 'pipeline P {\n  input inertial { | }\n}\n')).not.toContain('size');
    const rate = (await items(services, 'pipeline P {\n  input audio { | }\n}\n')).find((i) => i.label === 'rate')!;
    expect(JSON.stringify(rate.documentation)).toContain('Hz');
    const inHead = await items(services, 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  head h {\n    flatten  dense 3 softmax\n    |\n  }\n}\n');
    // As many placeholders as the head's 3 outputs.
    expect(inHead.find((i) => i.label === 'labels')?.insertText).toBe('labels [${1:c0}, ${2:c1}, ${3:c2}]');
    expect(await completions(services, 'pipeline P {\n  shared e {\n    dense 2\n    |\n  }\n}\n')).not.toContain('labels');
    const devices = await items(services, 'pipeline P {\n  target |\n}\ndevice Mine { processor cpu { compute 1 GMAC/s  memory 1 MB  power 1 mW } }\n');
    const mine = devices.find((i) => i.label === 'Mine')!;
    // A memory size's MB is 1024^2 bytes in .sense (language/units.ts).
    expect(JSON.stringify(mine.documentation)).toContain('cpu: 1 GMAC/s, 1 MiB memory');
    expect(devices.every((i) => i.documentation !== undefined)).toBe(true);
  });

  it('offers the units of the quantity being typed, the usual ones first', async () => {
    const rate = await completions(services, 'pipeline P {\n  input audio { rate 16 | }\n}\n');
    expect(rate.slice(0, 4)).toEqual(['Hz', 'kHz', 'MHz', 'GHz']);
    const memory = await completions(services, 'device D {\n  processor cpu { memory 64 | }\n}\n');
    expect(memory.slice(0, 3)).toEqual(['MB', 'KB', 'GB']);
    expect(memory).not.toContain('Hz');
  });
});

describe('navigation', () => {
  const services = makeServices();

  it('goes from encoder.2 to the second layer and from a target to the built-in device', async () => {
    const { doc, position } = await at(services, design('encoder.2', 8));
    const links = await services.Sense.lsp.DefinitionProvider!.getDefinition(doc, { textDocument: { uri: doc.textDocument.uri }, position });
    expect(links?.[0].targetRange.start).toEqual({ line: 13, character: 4 });
    const target = await at(services, design('snapdragon800', 2));
    const device = await services.Sense.lsp.DefinitionProvider!.getDefinition(target.doc, { textDocument: { uri: target.doc.textDocument.uri }, position: target.position });
    expect(device?.[0].targetUri).toBe('sense-builtin:/devices.sense');
  });

  it('finds the references of a block', async () => {
    const { doc, position } = await at(services, design('encoder {', 2));
    const refs = await services.Sense.lsp.ReferencesProvider!.findReferences(doc, { textDocument: { uri: doc.textDocument.uri }, position, context: { includeDeclaration: false } });
    // from encoder (ambient), from encoder (speaker), compress encoder.2, place encoder.
    expect(refs.map((r) => r.range.start.line + 1)).toEqual([18, 23, 28, 29]);
  });

  it('renames a block everywhere, encoder.2 included, and the text stays valid', async () => {
    const { doc, position } = await at(services, design('encoder {', 2));
    const edit = await services.Sense.lsp.RenameProvider!.rename(doc, { textDocument: { uri: doc.textDocument.uri }, position, newName: 'trunk' });
    const edits = edit!.changes![doc.textDocument.uri];
    let text = doc.textDocument.getText();
    for (const e of [...edits].sort((a, b) => doc.textDocument.offsetAt(b.range.start) - doc.textDocument.offsetAt(a.range.start))) {
      text = text.slice(0, doc.textDocument.offsetAt(e.range.start)) + e.newText + text.slice(doc.textDocument.offsetAt(e.range.end));
    }
    expect(text).toContain('compress trunk.2 svd rank 256');
    expect(text).toContain('place trunk, ambient on dsp');
    // Comments are prose, not references: only code changes.
    expect(text.replace(/\/\/[^\n]*/g, '')).not.toMatch(/\bencoder\b/);
    const renamed = await build(services, text);
    expect((renamed.diagnostics ?? []).map(codeOf).filter((c) => c !== 'missing-weights-file')).toEqual([]);
  });

  it('renames layers, custom devices and processors, refuses keywords and built-ins', async () => {
    const text = 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  shared e { flatten  f|c: dense 4 }\n  target D\n  compress e.fc int8\n  place e.fc on cpu\n}\ndevice D { processor cpu { compute 1 GMAC/s  memory 1 MB  power 1 mW } }\n';
    const { doc, position } = await at(services, text);
    const rename = services.Sense.lsp.RenameProvider!;
    const edit = await rename.rename(doc, { textDocument: { uri: doc.textDocument.uri }, position, newName: 'place' });
    expect(edit!.changes![doc.textDocument.uri]).toHaveLength(3);
    await expect(rename.rename(doc, { textDocument: { uri: doc.textDocument.uri }, position, newName: 'dense' })).rejects.toThrow(/keyword/);
    await expect(rename.rename(doc, { textDocument: { uri: doc.textDocument.uri }, position, newName: '2x' })).rejects.toThrow(/not a name/);
    const cpu = doc.textDocument.positionAt(doc.textDocument.getText().indexOf('on cpu') + 4);
    expect((await rename.rename(doc, { textDocument: { uri: doc.textDocument.uri }, position: cpu, newName: 'mcu' }))!.changes![doc.textDocument.uri]).toHaveLength(2);
    const builtin = await at(services, design('on dsp', 4));
    expect(await rename.prepareRename(builtin.doc, { textDocument: { uri: builtin.doc.textDocument.uri }, position: builtin.position })).toBeUndefined();
    await expect(rename.rename(builtin.doc, { textDocument: { uri: builtin.doc.textDocument.uri }, position: builtin.position, newName: 'hexagon' })).rejects.toThrow(/built-in/);
  });
});

describe('outline, folding and semantic tokens', () => {
  const services = makeServices();

  it('outlines pipeline > input, features, blocks > layers and device > processors', async () => {
    const doc = await build(services, DESIGN);
    const symbols = await services.Sense.lsp.DocumentSymbolProvider!.getSymbols(doc, { textDocument: { uri: doc.textDocument.uri } });
    const tree = symbols.map((s) => [s.name, (s.children ?? []).map((c) => [c.name, c.detail, (c.children ?? []).map((l) => `${l.name} ${l.detail}`)])]);
    expect(tree).toEqual([
      [
        'DeepEar',
        [
          ['input audio', 'audio', []],
          ['features', '[40, 98]', []],
          ['encoder', 'shared [1024]', ['encoder.1 flatten [3920]', 'encoder.2 dense [1024]', 'encoder.3 dense [1024]']],
          ['ambient', 'head [4]', ['ambient.1 dense [512]', 'ambient.2 dense [4]']],
          ['speaker', 'head [23]', ['speaker.1 dense [512]', 'speaker.2 dense [23]']],
        ],
      ],
      ['WristBand', [['cpu', '1.2 GMAC/s, 64 MiB', []], ['dsp', '2.4 GMAC/s, 8 MiB', []]]],
    ]);
  });

  it('folds the pipeline, multi-line blocks and the device', async () => {
    const doc = await build(services, DESIGN);
    const folds = await services.Sense.lsp.FoldingRangeProvider!.getFoldingRanges(doc, { textDocument: { uri: doc.textDocument.uri } });
    expect(folds.map((f) => `${f.startLine + 1}-${f.endLine + 1}`)).toEqual(expect.arrayContaining(['2-31', '5-9', '12-15', '18-21', '34-38']));
  });

  it('marks blocks, layer kinds, devices, processors, numbers and units', async () => {
    const doc = await build(services, 'pipeline P {\n  shared enc { fc: dense 4 relu }\n  target snapdragon800\n  place enc on dsp\n}\n');
    const provider = services.Sense.lsp.SemanticTokenProvider!;
    const data = (await provider.semanticHighlight(doc, { textDocument: { uri: doc.textDocument.uri } })).data;
    const types = Object.entries(provider.tokenTypes).reduce<Record<number, string>>((m, [k, v]) => ({ ...m, [v]: k }), {});
    const decoded: string[] = [];
    let line = 0;
    let char = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i];
      char = data[i] === 0 ? char + data[i + 1] : data[i + 1];
      decoded.push(`${doc.textDocument.getText().split('\n')[line].slice(char, char + data[i + 2])}:${types[data[i + 3]]}`);
    }
    expect(decoded).toEqual(['P:namespace', 'enc:class', 'fc:property', 'dense:function', '4:number', 'relu:function', 'snapdragon800:type', 'enc:class', 'dsp:enumMember']);
  });
});

describe('quick fixes', () => {
  const services = makeServices();

  async function fixes(text: string, code: string): Promise<CodeAction[]> {
    const doc = await build(services, text);
    const diagnostics = (doc.diagnostics ?? []).filter((d) => codeOf(d) === code);
    expect(diagnostics.length, `no ${code} in ${text}`).toBeGreaterThan(0);
    const actions = await services.Sense.lsp.CodeActionProvider!.getCodeActions(doc, { textDocument: { uri: doc.textDocument.uri }, range: diagnostics[0].range, context: { diagnostics } });
    return (actions ?? []) as CodeAction[];
  }

  it('adds a missing unit, the usual one first', async () => {
    const actions = await fixes('pipeline P {\n  input audio { rate 16  window 1 s }\n}\n', 'missing-unit');
    expect(actions.map((a) => a.title)).toEqual(["Add unit 'Hz'", "Add unit 'kHz'"]);
    expect(Object.values(actions[1].edit!.changes!)[0]).toEqual([{ range: { start: { line: 1, character: 23 }, end: { line: 1, character: 23 } }, newText: ' kHz' }]);
  });

  it('replaces an unknown unit and an unresolved processor with the closest valid one', async () => {
    const unit = await fixes('pipeline P {\n  input audio { rate 16 khz  window 1 s }\n}\n', 'unknown-unit');
    expect(unit[0].title).toBe("Change to unit 'kHz'");
    expect(unit[0].isPreferred).toBe(true);
    const processor = await fixes('pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  shared e { dense 4 }\n  target snapdragon800\n  place e on dps\n}\n', 'unresolved-processor');
    expect(processor.map((a) => a.title)).toEqual(["Change to processor 'dsp'", "Change to processor 'cpu'", "Change to processor 'gpu'"]);
  });

  it('offers the largest saving rank for a rank that is too large', async () => {
    const actions = await fixes('pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  features { frames 25 ms hop 10 ms  logmel 40 bands }\n  shared e { flatten  dense 64 }\n  compress e.2 svd rank 100\n}\n', 'rank-too-large');
    // A 64 x 3920 matrix: rank k saves weights while k (64 + 3920) < 64 x 3920, i.e. k <= 62.
    expect(actions.map((a) => a.title)).toEqual(['Set the rank to 62, the largest that saves parameters on e.2']);
  });

  /** The codes of the diagnostics of `text` after applying `action`'s edit. */
  async function codesAfter(text: string, action: CodeAction): Promise<string[]> {
    const fixed = applyEdits(text, Object.values(action.edit!.changes!)[0]);
    return ((await build(services, fixed)).diagnostics ?? []).map(codeOf);
  }

  const HEAD = 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  head h { flatten  dense 3 softmax  dropout 0.1\n    labels [a, "b c"] }\n  target host\n}\n';

  it('makes a head and its labels agree either way, and the fixed text has no label-count error', async () => {
    const actions = await fixes(HEAD, 'label-count');
    expect(actions.map((a) => a.title)).toEqual(['Set the last layer to 2 units, one per label', 'Make the labels list 3 long']);
    // The dense layer sets the width; softmax and dropout after it keep it.
    expect(applyEdits(HEAD, Object.values(actions[0].edit!.changes!)[0])).toContain('dense 2 softmax  dropout 0.1');
    expect(applyEdits(HEAD, Object.values(actions[1].edit!.changes!)[0])).toContain('labels [a, "b c", c0]');
    for (const a of actions) expect(await codesAfter(HEAD, a)).toEqual([]);
    // Too many labels: the first ones stay.
    const long = HEAD.replace('labels [a, "b c"]', 'labels [a, b, c, d, e]');
    const shorten = (await fixes(long, 'label-count'))[1];
    expect(applyEdits(long, Object.values(shorten.edit!.changes!)[0])).toContain('labels [a, b, c]');
    expect(await codesAfter(long, shorten)).toEqual([]);
    // A head ending in a layer whose width no number sets (flatten) gets only the labels fix:
    // 50 Hz x 1 s x 1 axis flattens to 50 values.
    const flat = 'pipeline P {\n  input inertial { rate 50 Hz  window 1 s  accelerometer [x] }\n  head h { flatten  labels [a, b] }\n  target host\n}\n';
    const only = await fixes(flat, 'label-count');
    expect(only.map((a) => a.title)).toEqual(['Make the labels list 50 long']);
    expect(only[0].isPreferred).toBe(true);
    expect(await codesAfter(flat, only[0])).toEqual([]);
  });

  it('replaces an unknown name with the suggestion, and the fixed text resolves', async () => {
    const text = 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  shared encoder { flatten  dense 4 }\n  head h from encodr { dense 2  labels [a, b] }\n  target snapdragon80\n  place encoder on dps\n}\n';
    for (const code of ['unresolved-block', 'unresolved-device', 'unresolved-processor']) {
      const [first] = await fixes(text, code);
      expect(first.isPreferred).toBe(true);
      expect(await codesAfter(text, first)).not.toContain(code);
    }
    expect((await fixes(text, 'unresolved-device'))[0].title).toBe("Change to device 'snapdragon800'");
    const gated = 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  head a { flatten  dense 2  labels [music, voicing] }\n  head b when a is voicng { flatten  dense 2  labels [p, q] }\n  target host\n  expect a voicing 30%\n}\n';
    const label = await fixes(gated, 'unknown-label');
    expect(label.map((a) => a.title)).toEqual(["Change to label 'voicing'", "Change to label 'music'"]);
    expect(await codesAfter(gated, label[0])).toEqual([]);
    // A gate names a head, so the shared block `enc`, though closer in spelling, is not
    // offered, nor head b itself (a cycle).
    const head = await fixes(gated.replace('head a {', 'shared enc { dense 2 }\n  head a {').replace('when a is', 'when en is'), 'unresolved-block');
    expect(head.map((a) => a.title)).toEqual(["Change to head 'a'"]);
  });
});

describe('gated heads', () => {
  const services = makeServices();
  const GATED = `pipeline G {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 8 bands }
  shared encoder { flatten  dense 16 relu }
  head ambient from encoder { dense 3 softmax  labels [music, voicing, other] }
  head speaker from encoder when ambient is voicing { dense 2 softmax  labels [a, b] }
  head emotion from encoder when speaker is a { dense 2 softmax  labels [calm, angry] }
  target host
  expect ambient voicing 30%
  expect speaker a 50%
}
`;

  it('lowers each gate with its expected fraction, and chains multiply', async () => {
    const doc = await build(services, GATED);
    const lowered = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0];
    expect(lowered.issues.map((i) => i.message)).toEqual([]);
    const spec = lowered.spec!;
    expect(spec.blocks.find((b) => b.name === 'speaker')!.gate).toEqual({ head: 'ambient', label: 'voicing', fraction: 0.3 });
    expect(spec.blocks.find((b) => b.name === 'emotion')!.gate).toEqual({ head: 'speaker', label: 'a', fraction: 0.5 });
    expect(spec.blocks.find((b) => b.name === 'ambient')!.gate).toBeUndefined();
    expect(spec.expectations).toEqual([
      { head: 'ambient', label: 'voicing', fraction: 0.3 },
      { head: 'speaker', label: 'a', fraction: 0.5 },
    ]);
    const { firingProbabilities } = await import('../../../language/pipeline-model');
    const p = firingProbabilities(spec.blocks);
    expect([p.get('encoder'), p.get('ambient'), p.get('speaker'), p.get('emotion')]).toEqual([1, 1, 0.3, 0.3 * 0.5]);
  });

  it("offers the named head's labels after 'is' and in an expect line, and the keyword 'when' after from", async () => {
    expect(await completions(services, GATED.replace('when ambient is voicing', 'when ambient is |'))).toEqual(['music', 'voicing', 'other']);
    expect(await completions(services, GATED.replace('expect speaker a 50%', 'expect speaker |'))).toEqual(['a', 'b']);
    expect(await completions(services, GATED.replace('head emotion from encoder when speaker is a {', 'head emotion from encoder | {'))).toContain('when');
    expect(await completions(services, GATED.replace('expect speaker a 50%', 'expect speaker a 50 |'))).toContain('%');
  });

  it('hovers a gated head with its gate and expected rate, and the head a gate names', async () => {
    const text = await hover(services, GATED.replace('head emotion', 'head emo|tion'));
    expect(text).toContain('| runs | when speaker is a: on 15.0% of windows (expected) |');
    const named = await hover(services, GATED.replace('when speaker is a', 'when spea|ker is a'));
    expect(named).toContain('**head speaker**');
    expect(named).toContain('| runs | when ambient is voicing: on 30.0% of windows (expected) |');
  });
});
