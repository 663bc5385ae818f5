/**
 * The mock host's stand-in for the engine, used only by the mock host page, the webview
 * tests and the webview benchmark. It is NOT the cost model of DESIGN.md: latency is
 * `overheadMs + macs / computeMacsPerS` and energy `activePowerMw x latency`, with a
 * greedy list schedule for the makespan. The engine's estimate replaces all of this in
 * the real extension; these figures only need to be plausible and to move when the user
 * compresses or places a layer, so the webview can be exercised end to end.
 */
import type { CompressionMethod, LayerCost, LayerView, ProcessorView, TimelineEntry, ViewState } from '../protocol';

/** Figures of one processor the mock cost formula needs (from the device catalog). */
export interface MockProcessor {
  name: string;
  computeMacsPerS: number;
  activePowerMw: number;
  overheadMs: number;
  memoryBytes: number;
}

/** A mock device: processors, battery, and the pipeline's hop (one inference per hop). */
export interface MockDevice {
  processors: MockProcessor[];
  batteryMah?: number;
  batteryVoltageV?: number;
  hopS: number;
}

/** Shape of the fixture files: the state plus what the mock needs to recompute it. */
export interface MockFixture {
  /** Says how the figures were made, so nobody mistakes them for engine output. */
  note: string;
  state: ViewState;
  device: MockDevice;
  /** Parameters and MACs of every compressible layer before compression. */
  dense: Record<string, { params: number; macs: number }>;
  /**
   * Set when the pipeline's weights cannot be read (no `weights` line, no file): the mock
   * answers every spectrum and preview request with this `error`, as the extension host
   * does; absent, it answers from the synthetic spectrum.
   */
  weightsError?: string;
}

/** Weight matrix (out x in) of a dense or conv layer, from its shapes; undefined for other kinds. */
export function weightMatrix(layer: Pick<LayerView, 'kind' | 'inputShape' | 'outputShape'>): [number, number] | undefined {
  const inputs = layer.inputShape.reduce((a, b) => a * b, 1);
  if (layer.kind === 'dense') return [layer.outputShape[0] ?? 1, layer.inputShape[layer.inputShape.length - 1] ?? inputs];
  if (layer.kind === 'conv1d' || layer.kind === 'conv2d') {
    // Kernel size is not in the view model; the mock assumes 3 (x 3) kernels.
    const k = layer.kind === 'conv1d' ? 3 : 9;
    return [layer.outputShape[0] ?? 1, (layer.inputShape[0] ?? 1) * k];
  }
  return undefined;
}

/** Parameters and MACs of a dense layer (out x in, with bias) under a compression method. */
export function compressedCounts(out: number, inp: number, positions: number, method: CompressionMethod | undefined): { params: number; macs: number } {
  const dense = out * inp;
  let weights = dense;
  if (method?.kind === 'svd' && method.criterion === 'rank') weights = Math.min(dense, method.rank * (out + inp));
  else if (method?.kind === 'svd') weights = Math.round(dense * (method.criterion === 'energy' ? method.fraction : 1 - method.fraction) * 0.5);
  else if (method?.kind === 'sparse') weights = Math.min(dense, out * method.atoms + method.nonzeros * inp * 2);
  // int8 keeps the count of weights (it changes their bytes, not their number).
  return { params: weights + out, macs: weights * positions };
}

/** A synthetic singular-value spectrum: a power law with a noise floor, seeded by the layer id. */
export function syntheticSpectrum(layerId: string, size: number): number[] {
  let seed = 0;
  for (const ch of layerId) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const values: number[] = [];
  for (let i = 0; i < size; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    const jitter = 1 + 0.05 * (seed / 2 ** 32 - 0.5);
    values.push((40 * (i + 1) ** -0.9 + 0.15) * jitter);
  }
  return values.sort((a, b) => b - a);
}

/** Relative Frobenius error and retained energy of a rank-k truncation of a spectrum. */
export function truncationError(values: number[], rank: number): { error: number; retained: number } {
  let total = 0;
  let kept = 0;
  values.forEach((v, i) => {
    total += v * v;
    if (i < rank) kept += v * v;
  });
  if (total === 0) return { error: 0, retained: 1 };
  return { error: Math.sqrt(Math.max(0, total - kept) / total), retained: kept / total };
}

function layerCost(device: MockDevice, processor: string, macs: number): { latencyMs: number; energyMj: number } {
  const p = device.processors.find((x) => x.name === processor) ?? device.processors[0];
  const latencyMs = p.overheadMs + (macs / p.computeMacsPerS) * 1000;
  // mW x ms = µJ; / 1000 = mJ.
  return { latencyMs, energyMj: (p.activePowerMw * latencyMs) / 1000 };
}

/** The cost of one layer before and after a candidate compression (the `compressionPreview` figures). */
export function previewCost(fixture: MockFixture, layer: LayerView, method: CompressionMethod): { before: LayerCost; after: LayerCost; error: number; retained?: number } {
  const matrix = weightMatrix(layer);
  const before: LayerCost = { params: layer.params, macs: layer.macs, latencyMs: layer.latencyMs, energyMj: layer.energyMj };
  if (!matrix) return { before, after: before, error: 0 };
  const [out, inp] = matrix;
  const base = fixture.dense[layer.id] ?? { params: layer.params, macs: layer.macs };
  const positions = Math.max(1, Math.round(base.macs / (out * inp)));
  const counts = compressedCounts(out, inp, positions, method);
  const cost = layerCost(fixture.device, layer.processor, counts.macs);
  let error = 0;
  let retained: number | undefined;
  if (method.kind === 'svd') {
    const spectrum = syntheticSpectrum(layer.id, Math.min(out, inp));
    const rank = method.criterion === 'rank' ? method.rank : Math.round(Math.min(out, inp) * (method.criterion === 'energy' ? method.fraction : 1 - method.fraction));
    ({ error, retained } = truncationError(spectrum, rank));
  } else if (method.kind === 'sparse') error = Math.min(1, 0.5 / Math.sqrt(method.nonzeros));
  else error = 0.004;
  const int8Factor = method.kind === 'int8' ? 0.6 : 1;
  return {
    before,
    after: { params: counts.params, macs: counts.macs, latencyMs: cost.latencyMs * int8Factor, energyMj: cost.energyMj * int8Factor },
    error,
    retained,
  };
}

/**
 * Recomputes every layer's latency and energy, the processor bars, the schedule and the
 * totals of a state after a change of compression or placement, with the mock formula.
 */
export function recompute(state: ViewState, device: MockDevice, dense: MockFixture['dense']): ViewState {
  const layers = state.layers.map((l) => {
    const matrix = weightMatrix(l);
    let params = l.params;
    let macs = l.macs;
    const base = dense[l.id];
    if (matrix && base) {
      const [out, inp] = matrix;
      const c = compressedCounts(out, inp, Math.max(1, Math.round(base.macs / (out * inp))), l.compression);
      params = c.params;
      macs = c.macs;
    }
    const cost = layerCost(device, l.processor, macs);
    const int8Factor = l.compression?.kind === 'int8' ? 0.6 : 1;
    return { ...l, params, macs, latencyMs: cost.latencyMs * int8Factor, energyMj: cost.energyMj * int8Factor };
  });
  // Greedy list schedule: blocks in source order, a layer starts when its predecessor
  // is done and its processor is free; a block starts when the block it reads from ends.
  const free = new Map<string, number>();
  const blockEnd = new Map<string, number>();
  const featuresEnd = state.features.latencyMs ?? 0;
  const timeline: TimelineEntry[] = [];
  if (state.features.processor && featuresEnd > 0) {
    timeline.push({ processor: state.features.processor, startMs: 0, endMs: featuresEnd, opId: 'features' });
    free.set(state.features.processor, featuresEnd);
  }
  for (const block of state.blocks) {
    let t = block.from ? blockEnd.get(block.from) ?? featuresEnd : featuresEnd;
    for (const l of layers.filter((x) => x.block === block.name)) {
      const start = Math.max(t, free.get(l.processor) ?? 0);
      const end = start + l.latencyMs;
      timeline.push({ processor: l.processor, startMs: start, endMs: end, opId: l.id });
      free.set(l.processor, end);
      t = end;
    }
    blockEnd.set(block.name, t);
  }
  const processors: ProcessorView[] = state.target.processors.map((p) => {
    const mine = layers.filter((l) => l.processor === p.name);
    return {
      ...p,
      latencyMs: mine.reduce((a, l) => a + l.latencyMs, 0) + (state.features.processor === p.name ? featuresEnd : 0),
      energyMj: mine.reduce((a, l) => a + l.energyMj, 0) + (state.features.processor === p.name ? state.features.energyMj ?? 0 : 0),
      memoryBytes: mine.reduce((a, l) => a + l.params * (l.compression?.kind === 'int8' ? 1 : 4) + l.outputShape.reduce((x, y) => x * y, 4), 0),
    };
  });
  const energy = processors.reduce((a, p) => a + p.energyMj, 0);
  const makespan = timeline.reduce((a, t) => Math.max(a, t.endMs), 0);
  let batteryLifeHours: number | undefined;
  if (device.batteryMah && device.batteryVoltageV && energy > 0) {
    const batteryJ = device.batteryMah * 3.6 * device.batteryVoltageV;
    batteryLifeHours = batteryJ / ((energy / 1000) * (3600 / device.hopS));
  }
  return {
    ...state,
    layers,
    timeline,
    target: { ...state.target, processors },
    totals: {
      ...state.totals,
      endToEndLatencyMs: makespan,
      energyPerInferenceMj: energy,
      batteryLifeHours,
      params: layers.reduce((a, l) => a + l.params, 0),
      macs: layers.reduce((a, l) => a + l.macs, 0),
    },
  };
}

/** The three-processor device of the synthetic pipelines (figures of the mock only, not a catalog entry). */
function syntheticDevice(): MockDevice {
  return {
    processors: [
      { name: 'cpu', computeMacsPerS: 6e9, activePowerMw: 1800, overheadMs: 0.01, memoryBytes: 1.5 * 2 ** 30 },
      { name: 'gpu', computeMacsPerS: 26e9, activePowerMw: 1500, overheadMs: 0.25, memoryBytes: 2 ** 30 },
      { name: 'dsp', computeMacsPerS: 1.6e9, activePowerMw: 180, overheadMs: 0.05, memoryBytes: 16 * 2 ** 20 },
    ],
    batteryMah: 2300,
    batteryVoltageV: 3.8,
    hopS: 1,
  };
}

/** Wraps generated blocks, layers and edges into a fixture whose figures the mock formula computes. */
function syntheticState(prefix: string, device: MockDevice, blocks: ViewState['blocks'], layers: LayerView[], edges: ViewState['edges'], dense: MockFixture['dense']): MockFixture {
  const state: ViewState = {
    pipeline: `${prefix}Synthetic`, documentVersion: 1,
    target: { name: 'snapdragon800', processors: device.processors.map((p, i) => ({ name: p.name, colorIndex: i, memoryLimitBytes: p.memoryBytes, memoryBytes: 0, latencyMs: 0, energyMj: 0 })) },
    features: { input: 'audio 16 kHz, 1 s window', inputShape: [16000], steps: ['frames 25 ms hop 10 ms', 'logmel 40 bands', 'stack 16'], outputShape: [640], processor: 'cpu', latencyMs: 0.7, energyMj: 1.26 },
    blocks, layers, edges,
    totals: { endToEndLatencyMs: 0, energyPerInferenceMj: 0 },
    timeline: [], optimize: { alpha: 0.7, beta: 0.3 },
  };
  return { note: 'synthetic benchmark pipeline; mock cost formula (webview/mock/mock-model.ts), not the engine', state: recompute(state, device, dense), device, dense };
}

/** One generated layer of a synthetic block, before its id, place and figures. */
interface LayerDraft {
  kind: string;
  activation?: string;
  outputShape: number[];
  params: number;
  macs: number;
}

/**
 * Appends the layers of `block`, reading from `previous`, made by `draft(i, inputShape)`
 * for i = 1..count; returns the id of the last one.
 */
function appendBlock(
  out: { layers: LayerView[]; edges: ViewState['edges']; dense: MockFixture['dense'] },
  device: MockDevice,
  block: string,
  previous: { id: string; shape: number[] },
  count: number,
  draft: (i: number, inputShape: number[]) => LayerDraft,
): { id: string; shape: number[] } {
  let prev = previous;
  for (let i = 1; i <= count; i++) {
    const d = draft(i, prev.shape);
    const id = `${block}.${i}`;
    const made = out.layers.length;
    if (d.kind === 'dense') out.dense[id] = { params: d.params, macs: d.macs };
    out.layers.push({
      id, block, index: i, kind: d.kind, ...(d.activation ? { activation: d.activation } : {}),
      inputShape: prev.shape, outputShape: d.outputShape, params: d.params, macs: d.macs,
      processor: device.processors[(made >> 4) % 3].name, latencyMs: 0, energyMj: 0, compressible: d.kind === 'dense' || d.kind === 'conv1d',
      diagnostics: [], range: { start: { line: 10 + made, character: 4 }, end: { line: 10 + made, character: 18 } },
    });
    out.edges.push({ id: `${prev.id}->${id}`, source: prev.id, target: id, shape: prev.shape });
    prev = { id, shape: d.outputShape };
  }
  return prev;
}

/** A dense layer of `width` outputs reading `inputShape` (flattened), with bias. */
function denseDraft(inputShape: number[], width: number, activation: string): LayerDraft {
  const inputs = inputShape.reduce((a, b) => a * b, 1);
  const params = width * inputs + width;
  return { kind: 'dense', activation, outputShape: [width], params, macs: params - width };
}

/**
 * A synthetic pipeline of `layerCount` dense layers for benchmarks: one shared block
 * and `heads` heads reading from it, on a three-processor device. `prefix` makes the
 * ids of each generated state distinct, so every one needs a fresh layout.
 */
export function syntheticFixture(layerCount: number, heads = 4, prefix = 'b'): MockFixture {
  const device = syntheticDevice();
  const perBlock = Math.ceil(layerCount / (heads + 1));
  const blocks: ViewState['blocks'] = [{ name: `${prefix}shared`, kind: 'shared' }];
  for (let h = 0; h < heads; h++) blocks.push({ name: `${prefix}head${h}`, kind: 'head', from: `${prefix}shared`, labels: ['a', 'b', 'c'] });
  const out = { layers: [] as LayerView[], edges: [{ id: 'input->features', source: 'input', target: 'features', shape: [16000] }], dense: {} as MockFixture['dense'] };
  const ends = new Map<string, { id: string; shape: number[] }>();
  for (const block of blocks) {
    const count = Math.min(perBlock, layerCount - out.layers.length);
    if (count <= 0) break;
    const head = block.kind === 'head';
    const from = head ? ends.get(block.from!)! : { id: 'features', shape: [640] };
    ends.set(block.name, appendBlock(out, device, block.name, from, count, (i, input) => denseDraft(input, head && i === count ? 3 : head ? 256 : 512, head && i === count ? 'softmax' : 'relu')));
  }
  return syntheticState(prefix, device, blocks, out.layers, out.edges, out.dense);
}

/** Layers per shared block and per head of {@link largeFixture}. */
const LARGE_SHARED_LAYERS = 240;
const LARGE_HEAD_LAYERS = 180;

/**
 * A large, varied synthetic pipeline, as an imported model would be: shared blocks in a
 * tree (each after the first reads from an earlier one), heads spread over them, and
 * layers cycling through conv, batch norm, activation, pooling, dense and dropout with
 * channel counts that change from layer to layer, so most consecutive layers differ and
 * only one run of identical layers per block (six `dense 128 relu`) collapses. Collapsing
 * runs alone therefore leaves about `layerCount` nodes. `prefix` keeps ids distinct.
 */
export function largeFixture(layerCount: number, prefix = 'g'): MockFixture {
  const device = syntheticDevice();
  const sharedCount = Math.max(1, Math.round((layerCount * 0.3) / LARGE_SHARED_LAYERS));
  const sharedLayers = Math.ceil((layerCount * 0.3) / sharedCount);
  const headCount = Math.max(2, Math.round((layerCount - sharedCount * sharedLayers) / LARGE_HEAD_LAYERS));
  const blocks: ViewState['blocks'] = [];
  for (let s = 0; s < sharedCount; s++) blocks.push({ name: `${prefix}trunk${s}`, kind: 'shared', ...(s > 0 ? { from: `${prefix}trunk${(s - 1) >> 1}` } : {}) });
  for (let h = 0; h < headCount; h++) blocks.push({ name: `${prefix}head${h}`, kind: 'head', from: `${prefix}trunk${sharedCount - 1 - (h % sharedCount)}`, labels: ['a', 'b', 'c', 'd'] });
  const out = { layers: [] as LayerView[], edges: [{ id: 'input->features', source: 'input', target: 'features', shape: [16000] }], dense: {} as MockFixture['dense'] };
  const ends = new Map<string, { id: string; shape: number[] }>();
  const CHANNELS = [32, 48, 64, 96, 128];
  blocks.forEach((block, b) => {
    const remaining = layerCount - out.layers.length;
    const blocksLeft = blocks.length - b;
    const count = Math.min(remaining, block.kind === 'shared' ? sharedLayers : Math.ceil(remaining / blocksLeft));
    if (count <= 0) return;
    const from = block.from ? ends.get(block.from)! : { id: 'features', shape: [40, 64] };
    const runStart = Math.floor(count / 2);
    ends.set(block.name, appendBlock(out, device, block.name, from, count, (i, input) => {
      if (block.kind === 'head' && i === count) return denseDraft(input, 4, 'softmax');
      if (i > runStart && i <= runStart + 6) return denseDraft(input, 128, 'relu');
      const stage = (i + b) % 7;
      const channels = CHANNELS[(i * 3 + b) % CHANNELS.length];
      const length = input.length === 2 ? input[1] : 64;
      const c = input[0];
      if (stage === 0 || stage === 3) {
        const params = channels * c * 3 + channels;
        return { kind: 'conv1d', activation: stage === 0 ? 'relu' : undefined, outputShape: [channels, length], params, macs: (params - channels) * length };
      }
      if (stage === 1) return { kind: 'batchnorm', outputShape: input, params: 2 * c, macs: c * length };
      if (stage === 2) return { kind: 'activation', activation: ['relu', 'tanh', 'sigmoid'][i % 3], outputShape: input, params: 0, macs: 0 };
      if (stage === 4) return { kind: 'maxpool', outputShape: [c, Math.max(1, length >> 1) + 16], params: 0, macs: 0 };
      if (stage === 5) return denseDraft(input, 64 + 32 * (i % 4), 'relu');
      return { kind: 'dropout', outputShape: input, params: 0, macs: 0 };
    }));
  });
  return syntheticState(prefix, device, blocks, out.layers, out.edges, out.dense);
}
