/**
 * Recognition of an ONNX graph as `.sense` layers: the inverse of engine/onnx/export-onnx.ts.
 *
 * Every tensor the model computes from its input is tracked as a position in a tree of
 * segments (a run of layers; a tensor read by several nodes ends its segment and each reader
 * starts a child, so the tree is the pipeline's shared blocks and heads) together with its
 * *layout*: for each ONNX axis, the axis of the pipeline's channels-first tensor it holds
 * (0 is the batch) or -1 for an axis of size 1 an exporter inserted. Transpose, Squeeze,
 * Unsqueeze, Reshape and Flatten change only the layout until a layer needs its input in the
 * order the language computes it in (a dense layer on the last axis, a conv on `[N, C, L]`,
 * a GRU on `[T, N, F]`); a layout the language cannot state is refused at the node that needs
 * it. Shape arithmetic (Shape, Gather, Concat, ConstantOfShape ...) is evaluated symbolically,
 * with the batch as a symbol, so the reshapes and zero initial states exporters build from it
 * are understood. Weights are read in ONNX layout, which is the project's naming convention's
 * layout (engine/weights/weights.ts), so GRU gates (z, r, h) and LSTM gates (i, o, f, c) are
 * already in the order the exporter converted PyTorch's to.
 */
import { formatShape, inferLayer } from '../../language/layer-shapes';
import type { ActivationName, LayerConfig, Shape } from '../../language/pipeline-model';
import { BATCHNORM_EPSILON, type WeightTensor } from '../weights/weights';
import type { ConstTensor, GraphNode, ImportGraph } from './onnx-graph';

/** One recognised layer: its configuration, weights by role (`weight`, `bias`, `W` ...) and the ONNX nodes it came from. */
export interface LayerDraft extends LayerConfig {
  weights: Record<string, WeightTensor>;
  nodes: string[];
  /** A MatMul's bias, still to come from the Add after it. */
  biasPending?: boolean;
}

/** A run of layers; a segment with children becomes a shared block, one without a head. */
export interface Segment {
  layers: LayerDraft[];
  parent?: Segment;
  children: Segment[];
  /** The ONNX output this segment ends in (heads only). */
  output?: string;
  /** The shape of the segment's output (batch excluded). */
  outputShape: Shape;
}

/** A node the importer could not map, and why. */
export interface Refusal {
  node: string;
  opType: string;
  reason: string;
}

/** The recognised tree, or every refusal. */
export type Recognition = { ok: true; root: Segment; inputShape: Shape } | { ok: false; refusals: Refusal[] };

/** A node the importer cannot map, thrown from deep inside its mapping and caught per node. */
class NodeRefusal extends Error {}

type Sym = number | 'N';
type Value =
  | { t: 'act'; seg: Segment; shape: Shape; layout: number[]; producer?: LayerDraft }
  | { t: 'const'; c: ConstTensor }
  | { t: 'sym'; v: Sym[] }
  | { t: 'zeros' }
  | { t: 'bad' };
type Act = Extract<Value, { t: 'act' }>;

/** Ops whose only role is shape arithmetic on constants and shapes. */
const SHAPE_OPS = new Set(['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Slice', 'ConstantOfShape', 'Expand', 'Reshape', 'Identity']);
/** Ops that compute a front end; named in the refusal with a hint. */
const FRONT_END_OPS = new Set(['STFT', 'DFT', 'MelWeightMatrix']);
const ACTIVATIONS: Record<string, ActivationName> = { Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', Softmax: 'softmax', LeakyRelu: 'leakyrelu', Elu: 'elu', Gelu: 'gelu' };
/** Every op type the importer maps in some form (for the refusal of a node downstream of another refusal). */
const MAPPED = new Set([
  ...SHAPE_OPS, ...Object.keys(ACTIVATIONS), 'Gemm', 'MatMul', 'Add', 'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool',
  'ReduceMean', 'ReduceMax', 'BatchNormalization', 'Flatten', 'Transpose', 'Dropout', 'GRU', 'LSTM', 'Pad',
]);

const near = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function scalarOf(v: Value | undefined): number | undefined {
  if (v?.t !== 'const') return undefined;
  const d = v.c.floats ?? v.c.ints;
  return d && d.length === 1 ? d[0] : undefined;
}

/**
 * Replaces the erf form of GELU that PyTorch (and our exporter) write, x * 0.5 * (1 + erf(x / sqrt 2)),
 * with one synthetic `Gelu` node, so the rest of the importer sees one activation.
 */
function fuseGelu(nodes: GraphNode[], constants: Map<string, ConstTensor>): GraphNode[] {
  const readers = new Map<string, GraphNode[]>();
  for (const n of nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const only = (t: string, op: string): GraphNode | undefined => {
    const r = readers.get(t) ?? [];
    return r.length === 1 && r[0].opType === op ? r[0] : undefined;
  };
  const c = (name: string): number | undefined => scalarOf(constants.has(name) ? { t: 'const', c: constants.get(name)! } : undefined);
  const drop = new Set<GraphNode>();
  const replace = new Map<GraphNode, GraphNode>();
  for (const div of nodes) {
    if (div.opType !== 'Div' || !near(c(div.inputs[1]) ?? 0, Math.SQRT2, 1e-5)) continue;
    const x = div.inputs[0];
    const erf = only(div.outputs[0], 'Erf');
    const add = erf && only(erf.outputs[0], 'Add');
    const other = add && add.inputs.find((i) => i !== erf!.outputs[0]);
    if (!add || other === undefined || c(other) !== 1) continue;
    const mul = only(add.outputs[0], 'Mul');
    if (!mul || !mul.inputs.includes(x)) continue;
    const half = only(mul.outputs[0], 'Mul');
    const h = half && half.inputs.find((i) => i !== mul.outputs[0]);
    if (!half || h === undefined || c(h) !== 0.5) continue;
    for (const n of [div, erf!, add, mul]) drop.add(n);
    replace.set(half, { name: div.name, opType: 'Gelu', domain: '', inputs: [x], outputs: half.outputs, attrs: new Map() });
  }
  return nodes.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n);
}

/** The nodes the outputs depend on; with `dataOnly`, not counting what a Shape node reads. */
function liveNodes(nodes: GraphNode[], outputs: string[], dataOnly: boolean): Set<GraphNode> {
  const producer = new Map<string, GraphNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const live = new Set<GraphNode>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || live.has(n)) continue;
    live.add(n);
    if (!(dataOnly && n.opType === 'Shape')) stack.push(...n.inputs.filter((i) => i !== ''));
  }
  return live;
}

function transpose2(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

/** SAME_UPPER padding for `input` (TensorFlow's split, smaller half first), as export-onnx writes it. */
function samePads(input: number[], kernel: number[], stride: number): number[] {
  const totals = input.map((len, i) => Math.max(0, (Math.ceil(len / stride) - 1) * stride + kernel[i] - len));
  return [...totals.map((t) => Math.floor(t / 2)), ...totals.map((t) => t - Math.floor(t / 2))];
}

/**
 * Recognises `graph` as a tree of layer segments reading a tensor of `inputShape` (batch
 * excluded). Returns every node it could not map, each with its reason, when any could not.
 */
export function recognise(graph: ImportGraph, inputShape: Shape): Recognition {
  const refusals: Refusal[] = [];
  const nodes = fuseGelu(graph.nodes, graph.constants);
  const outputNames = graph.outputs.map((o) => o.name);
  const live = liveNodes(nodes, outputNames, false);
  // Nodes whose data (not only its shape) reaches an output; a Transpose feeding only a Shape is not one.
  const dataLive = liveNodes(nodes, outputNames, true);
  // Data readers of each tensor (a graph output counts as one reader).
  const readers = new Map<string, number>();
  for (const n of nodes) if (dataLive.has(n)) for (const i of new Set(n.inputs)) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (const o of outputNames) readers.set(o, (readers.get(o) ?? 0) + 1);

  const root: Segment = { layers: [], children: [], outputShape: inputShape };
  const values = new Map<string, Value>();
  for (const [name, c] of graph.constants) values.set(name, { t: 'const', c });
  values.set(graph.input.name, { t: 'act', seg: root, shape: inputShape, layout: [0, ...inputShape.map((_, i) => i + 1)] });

  for (const node of nodes) {
    if (!live.has(node)) continue;
    const ins = node.inputs.map((i) => (i === '' ? undefined : values.get(i)));
    const setOut = (v: Value, index = 0): void => void values.set(node.outputs[index], v);
    const refuse = (reason: string): void => {
      refusals.push({ node: node.name, opType: node.opType, reason });
      for (const o of node.outputs) values.set(o, { t: 'bad' });
    };
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      refuse(`an op of the custom domain '${node.domain}', which the language lacks`);
      continue;
    }
    if (FRONT_END_OPS.has(node.opType)) {
      refuse(`the model computes its own feature front end (${node.opType}); export it from the features on (the tensor after the mel spectrogram) and give the front end with --like PIPELINE.sense`);
      continue;
    }
    if (ins.some((v) => v?.t === 'bad')) {
      if (!MAPPED.has(node.opType)) refuse(`${node.opType} is an op the language lacks`);
      else for (const o of node.outputs) values.set(o, { t: 'bad' });
      continue;
    }
    const acts = ins.filter((v): v is Act => v?.t === 'act');
    try {
      if (acts.length === 0) {
        const r = evalShapeOp(node, ins, graph.opset);
        if (typeof r === 'string') refuse(r);
        else setOut(r);
        continue;
      }
      if (acts.length > 1) {
        refuse(`it joins ${acts.length} tensors computed from the input (a residual connection or concatenation); a pipeline's blocks form a tree without joins`);
        continue;
      }
      const r = mapAct(node, ins, acts[0], ins.indexOf(acts[0]));
      if (typeof r === 'string') refuse(r);
      else r.forEach((v, i) => v && setOut(v, i));
    } catch (e) {
      // Anything else is a bug of the importer and must surface as one.
      if (!(e instanceof NodeRefusal)) throw e;
      refuse(e.message);
    }
  }

  function attr(node: GraphNode, name: string, fallback: number): number {
    const v = node.attrs.get(name);
    return typeof v === 'number' ? v : fallback;
  }
  function ints(node: GraphNode, name: string): number[] | undefined {
    const v = node.attrs.get(name);
    return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
  }
  /** Axes from the attribute (older opsets) or the second input (newer ones). */
  function axesOf(node: GraphNode, ins: (Value | undefined)[], at = 1): number[] | undefined | 'dynamic' {
    const a = ints(node, 'axes');
    if (a) return a;
    const v = ins[at];
    if (!v) return undefined;
    if (v.t === 'const' && v.c.ints) return v.c.ints;
    if (v.t === 'sym' && v.v.every((x) => typeof x === 'number')) return v.v as number[];
    return 'dynamic';
  }

  /** Where a node reading `a` appends: `a`'s segment, or a new child when `a` has several readers. */
  function take(a: Act, tensor: string): { seg: Segment; producer?: LayerDraft } {
    if ((readers.get(tensor) ?? 0) <= 1) return { seg: a.seg, producer: a.producer };
    const seg: Segment = { layers: [], children: [], parent: a.seg, outputShape: a.shape };
    a.seg.children.push(seg);
    return { seg };
  }

  function addLayer(node: GraphNode, a: Act, tensor: string, draft: Omit<LayerDraft, 'nodes'>, layoutOut?: (shape: Shape) => number[]): Value[] | string {
    const r = inferLayer(draft, a.shape);
    if (!r.ok) return r.message;
    const { seg } = take(a, tensor);
    const layer: LayerDraft = { ...draft, nodes: [node.name] };
    seg.layers.push(layer);
    seg.outputShape = r.outputShape;
    const layout = layoutOut ? layoutOut(r.outputShape) : [0, ...r.outputShape.map((_, i) => i + 1)];
    return [{ t: 'act', seg, shape: r.outputShape, layout, producer: layer }];
  }

  function identityLayout(a: Act): boolean {
    return a.layout.length === a.shape.length + 1 && a.layout.every((v, i) => v === i);
  }

  function layoutOnly(a: Act, tensor: string, layout: number[]): Value[] {
    const { seg, producer } = take(a, tensor);
    return [{ t: 'act', seg, shape: a.shape, layout, producer }];
  }

  function flattenOf(node: GraphNode, a: Act, tensor: string): Value[] | string {
    const kept = a.layout.filter((v) => v >= 0);
    if (a.layout[0] !== 0) return 'it flattens a tensor whose first axis is not the batch';
    if (a.shape.length === 1) return layoutOnly(a, tensor, [0, 1]);
    if (!kept.every((v, i) => v === i)) return `it flattens a tensor whose axes were permuted (layout ${formatShape(kept)}); the language flattens channels-first tensors only`;
    return addLayer(node, a, tensor, { kind: 'flatten', weights: {} });
  }

  function constFloats(v: Value | undefined, what: string): ConstTensor & { floats: Float32Array } {
    if (v?.t !== 'const' || !v.c.floats) throw new NodeRefusal(`its ${what} is not a constant float tensor; the importer needs the weights in the file`);
    return v.c as ConstTensor & { floats: Float32Array };
  }

  function mapAct(node: GraphNode, ins: (Value | undefined)[], a: Act, at: number): (Value | undefined)[] | string {
    const tensor = node.inputs[at];
    const op = node.opType;
    const last = a.shape.length;
    if (!dataLive.has(node)) {
      // Only its output's shape is used (by a Shape node): follow the layout, append nothing.
      if (op === 'Transpose') return [{ ...a, layout: (ints(node, 'perm') ?? a.layout.map((_, i) => a.layout.length - 1 - i)).map((p) => a.layout[p]) }];
      if (op === 'Shape') return [{ t: 'sym', v: a.layout.map((ax) => (ax < 0 ? 1 : ax === 0 ? 'N' : a.shape[ax - 1])) }];
      return `only the shape of its output is used, and the importer follows shapes through Transpose only`;
    }
    if (op !== 'Shape' && at !== 0 && !(op === 'Add' || op === 'Mul')) return `it reads the model's data as input ${at + 1}, not as its first input`;
    if (ACTIVATIONS[op]) {
      const act = ACTIVATIONS[op];
      if (op === 'Softmax') {
        const rank = a.layout.length;
        const axis = attr(node, 'axis', graph.opset >= 13 ? -1 : 1);
        const ax = axis < 0 ? axis + rank : axis;
        if (ax !== rank - 1 || a.layout[rank - 1] !== last) return `softmax over axis ${axis}; the language's softmax is over the last axis of the channels-first tensor`;
      }
      if (op === 'LeakyRelu' && !near(attr(node, 'alpha', 0.01), Math.fround(0.01))) return `LeakyRelu with alpha ${attr(node, 'alpha', 0.01)}; the language's leakyrelu has alpha 0.01`;
      if (op === 'Elu' && !near(attr(node, 'alpha', 1), 1)) return `Elu with alpha ${attr(node, 'alpha', 1)}; the language's elu has alpha 1`;
      if (op === 'Gelu' && (node.attrs.get('approximate') ?? 'none') !== 'none') return "Gelu with the tanh approximation; the language's gelu is the exact (erf) form";
      const { seg, producer } = take(a, tensor);
      const lastLayer = seg.layers[seg.layers.length - 1];
      if (producer && producer === lastLayer && (producer.kind === 'dense' || producer.kind === 'conv1d' || producer.kind === 'conv2d') && !producer.activation && !producer.biasPending) {
        producer.activation = act;
        producer.nodes.push(node.name);
        return [{ ...a, seg, producer }];
      }
      const layer: LayerDraft = { kind: 'activation', activation: act, weights: {}, nodes: [node.name] };
      seg.layers.push(layer);
      return [{ t: 'act', seg, shape: a.shape, layout: a.layout, producer: layer }];
    }
    switch (op) {
      case 'Identity':
      case 'Dropout':
        if (op === 'Dropout' && node.outputs.slice(1).some((o) => o && (readers.get(o) ?? 0) > 0)) return "its mask output is used; inference ignores dropout, so the language has no mask";
        return layoutOnly(a, tensor, a.layout);
      case 'Pad': {
        const pads = ints(node, 'pads') ?? (ins[1]?.t === 'const' ? ins[1].c.ints : undefined);
        if (!pads || pads.some((p) => p !== 0)) return 'it pads the data; the language pads only inside a convolution (padding same)';
        return layoutOnly(a, tensor, a.layout);
      }
      case 'Cast':
        if (attr(node, 'to', 1) !== 1) return 'it casts the data to a type other than float32';
        return layoutOnly(a, tensor, a.layout);
      case 'Shape': {
        const start = attr(node, 'start', 0), end = attr(node, 'end', a.layout.length);
        const dims: Sym[] = a.layout.map((ax) => (ax < 0 ? 1 : ax === 0 ? 'N' : a.shape[ax - 1]));
        return [{ t: 'sym', v: dims.slice(start, end) }];
      }
      case 'Transpose': {
        const perm = ints(node, 'perm') ?? a.layout.map((_, i) => a.layout.length - 1 - i);
        return layoutOnly(a, tensor, perm.map((p) => a.layout[p]));
      }
      case 'Squeeze': {
        const axes = axesOf(node, ins);
        if (axes === 'dynamic') return 'its axes are computed at run time';
        const rank = a.layout.length;
        const drop = axes ? axes.map((x) => (x < 0 ? x + rank : x)) : a.layout.flatMap((v, i) => (v < 0 ? [i] : []));
        if (!axes && a.layout.some((v) => v > 0 && a.shape[v - 1] === 1)) return 'it squeezes every axis of size 1, including a data axis; give the axes';
        if (drop.some((i) => a.layout[i] !== -1)) return `it removes axis ${drop.find((i) => a.layout[i] !== -1)}, a data axis`;
        return layoutOnly(a, tensor, a.layout.filter((_, i) => !drop.includes(i)));
      }
      case 'Unsqueeze': {
        const axes = axesOf(node, ins);
        if (!axes || axes === 'dynamic') return 'its axes are not constant';
        const rank = a.layout.length + axes.length;
        const at2 = axes.map((x) => (x < 0 ? x + rank : x)).sort((p, q) => p - q);
        const layout = [...a.layout];
        for (const i of at2) layout.splice(i, 0, -1);
        return layoutOnly(a, tensor, layout);
      }
      case 'Flatten':
        if (attr(node, 'axis', 1) !== 1) return `Flatten from axis ${attr(node, 'axis', 1)}; the language flattens everything but the batch`;
        return flattenOf(node, a, tensor);
      case 'Reshape':
        return reshape(node, ins, a, tensor);
      case 'Gather':
        return gather(node, ins, a, tensor);
      case 'Slice':
        return slice(node, ins, a, tensor);
      case 'Gemm': {
        if (a.layout.length !== 2 || a.layout[0] !== 0 || a.layout[1] !== 1 || a.shape.length !== 1) return `Gemm on a ${a.layout.length}-D tensor; dense needs [N, features]`;
        if (attr(node, 'transA', 0) !== 0) return 'Gemm with transA = 1 transposes the data';
        const B = constFloats(ins[1], 'weight B');
        const alpha = attr(node, 'alpha', 1), beta = attr(node, 'beta', 1);
        const inW = a.shape[0];
        const transB = attr(node, 'transB', 0) === 1;
        if (B.dims.length !== 2 || B.dims[transB ? 1 : 0] !== inW) return `its weight ${formatShape(B.dims)} does not fit an input of width ${inW}`;
        const units = B.dims[transB ? 0 : 1];
        let W = transB ? Float32Array.from(B.floats) : transpose2(B.floats, inW, units);
        if (alpha !== 1) W = W.map((v) => v * alpha);
        const bias = biasOf(ins[2], units, 1, beta);
        if (typeof bias === 'string') return bias;
        return addLayer(node, a, tensor, { kind: 'dense', units, weights: { weight: { shape: [units, inW], data: W }, bias: { shape: [units], data: bias } } });
      }
      case 'MatMul': {
        if (at !== 0) return 'MatMul with the data on the right; dense multiplies the data by a weight matrix';
        const B = constFloats(ins[1], 'weight');
        if (a.layout[a.layout.length - 1] !== last) return 'MatMul over an axis that is not the last of the channels-first tensor';
        const inW = a.shape[last - 1];
        if (B.dims.length !== 2 || B.dims[0] !== inW) return `its weight ${formatShape(B.dims)} does not fit an input of width ${inW}`;
        const units = B.dims[1];
        return addLayer(node, a, tensor, { kind: 'dense', units, biasPending: true, weights: { weight: { shape: [units, inW], data: transpose2(B.floats, inW, units) }, bias: { shape: [units], data: new Float32Array(units) } } }, () => a.layout);
      }
      case 'Add':
      case 'Mul': {
        const other = ins[at === 0 ? 1 : 0];
        const { seg, producer } = take(a, tensor);
        if (op === 'Add' && producer?.biasPending && producer === seg.layers[seg.layers.length - 1]) {
          const bias = biasOf(other, producer.units!, 1, 1);
          if (typeof bias === 'string') return bias;
          producer.weights.bias = { shape: [producer.units!], data: bias };
          producer.biasPending = false;
          producer.nodes.push(node.name);
          return [{ ...a, seg, producer }];
        }
        if (op === 'Add' && producer && producer === seg.layers[seg.layers.length - 1] && !producer.activation && (producer.kind === 'dense' || producer.kind === 'conv1d' || producer.kind === 'conv2d')) {
          // A bias written as its own Add (tf2onnx, or a Conv exported without B): it adds to the layer's bias.
          const units = producer.kind === 'dense' ? producer.units! : producer.filters!;
          const added = outputBias(other, a, producer.kind === 'dense' ? last : 1, units);
          if (typeof added === 'string') return added;
          const bias = producer.weights.bias.data;
          producer.weights.bias = { shape: [units], data: Float32Array.from(bias, (b, i) => b + added[i]) };
          producer.nodes.push(node.name);
          return [{ ...a, seg, producer }];
        }
        return `${op} with a constant tensor after a layer that has no place for it (only a bias right after a dense or conv layer is recognised); the language has no ${op === 'Add' ? 'bias-only' : 'scaling'} layer`;
      }
      case 'Conv':
        return conv(node, ins, a, tensor);
      case 'MaxPool':
      case 'AveragePool':
        return pool(node, a, tensor);
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
      case 'ReduceMean':
      case 'ReduceMax':
        return globalPool(node, ins, a, tensor);
      case 'BatchNormalization': {
        if (!identityLayout(a)) return 'BatchNormalization on a tensor whose axes were permuted; batchnorm normalises the channel axis of the channels-first tensor';
        if (attr(node, 'training_mode', 0) !== 0) return 'BatchNormalization in training mode';
        if (node.outputs.slice(1).some((o) => o && (readers.get(o) ?? 0) > 0)) return 'its running statistics outputs are used';
        const C = a.shape[0];
        const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => constFloats(ins[i], ['scale', 'bias', 'mean', 'variance'][i - 1]));
        if (![scale, bias, mean, variance].every((t) => t.floats.length === C)) return `its statistics do not have ${C} channels`;
        // The language's epsilon is fixed; rescaling keeps y = scale (x - mean) / sqrt(var + eps) + bias exact.
        const eps = attr(node, 'epsilon', 1e-5);
        const s = scale.floats.map((v, i) => (v * Math.sqrt(variance.floats[i] + BATCHNORM_EPSILON)) / Math.sqrt(variance.floats[i] + eps));
        const t = (x: Float32Array): WeightTensor => ({ shape: [C], data: Float32Array.from(x) });
        return addLayer(node, a, tensor, { kind: 'batchnorm', weights: { scale: t(s), bias: t(bias.floats), mean: t(mean.floats), var: t(variance.floats) } });
      }
      case 'GRU':
      case 'LSTM':
        return recurrent(node, ins, a, tensor);
      default:
        return `${op} is an op the language lacks`;
    }
  }

  /** A bias of `units` values from an optional constant that broadcasts to them, times `scale`. */
  function biasOf(v: Value | undefined, units: number, _unused: number, scale: number): Float32Array | string {
    if (!v) return new Float32Array(units);
    if (v.t !== 'const' || !v.c.floats) return 'its bias is not a constant float tensor';
    const n = v.c.floats.length;
    const lastDim = v.c.dims.length === 0 ? 1 : v.c.dims[v.c.dims.length - 1];
    if (!(n === units && lastDim === units) && n !== 1) return `its bias ${formatShape(v.c.dims)} does not broadcast to the ${units} outputs`;
    return Float32Array.from({ length: units }, (_, i) => v.c.floats![n === 1 ? 0 : i] * scale);
  }

  /**
   * The per-unit values of a constant added to `a`, whose pipeline axis `axis` holds the layer's
   * `units` outputs: the constant must be a scalar or vary along that axis only (numpy broadcasting).
   */
  function outputBias(v: Value | undefined, a: Act, axis: number, units: number): Float32Array | string {
    if (v?.t !== 'const' || !v.c.floats) return 'it adds a tensor that is not a constant float tensor after a layer';
    const { dims, floats } = v.c;
    if (floats.length === 1) return new Float32Array(units).fill(floats[0]);
    const rank = a.layout.length;
    if (dims.length > rank) return `it adds a constant ${formatShape(dims)} of higher rank than the data`;
    const aligned = [...Array.from({ length: rank - dims.length }, () => 1), ...dims];
    const at = a.layout.indexOf(axis);
    if (aligned.some((d, i) => d !== (i === at ? units : 1))) return `it adds a constant ${formatShape(dims)} that does not vary along the layer's ${units} outputs alone, so it is not a bias`;
    return Float32Array.from(floats);
  }

  function reshape(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): Value[] | string {
    const t = ins[1];
    let target: Sym[];
    if (t?.t === 'const' && t.c.ints) target = t.c.ints;
    else if (t?.t === 'sym') target = t.v;
    else return 'its target shape is computed from data at run time';
    const inDims: Sym[] = a.layout.map((ax) => (ax < 0 ? 1 : ax === 0 ? 'N' : a.shape[ax - 1]));
    const total = a.shape.reduce((p, q) => p * q, 1);
    const dims = target.map((d, i) => (d === 0 && attr(node, 'allowzero', 0) === 0 ? inDims[i] : d));
    const rest = dims.slice(1);
    const batchFirst = dims[0] === 'N' || dims[0] === 1 || (dims[0] === -1 && rest.every((d) => typeof d === 'number' && d > 0) && rest.reduce<number>((p, q) => p * (q as number), 1) === total);
    if (!batchFirst || a.layout[0] !== 0) return `it reshapes to ${formatShape(target as number[])}, which mixes the batch with the data`;
    if (rest.length === 1 && (rest[0] === -1 || rest[0] === total)) return flattenOf(node, a, tensor);
    // Otherwise only axes of size 1 may come and go: the data axes must appear in order with their sizes.
    const kept = a.layout.filter((v) => v > 0);
    const layout = [0];
    let k = 0;
    for (const d of rest) {
      if (k < kept.length && d === a.shape[kept[k] - 1]) layout.push(kept[k++]);
      else if (d === 1) layout.push(-1);
      else return `it reshapes ${formatShape(inDims as number[])} to ${formatShape(target as number[])}, which regroups data axes; the language cannot state that`;
    }
    if (k !== kept.length) return `it reshapes ${formatShape(inDims as number[])} to ${formatShape(target as number[])}, which regroups data axes`;
    return layoutOnly(a, tensor, layout);
  }

  function gather(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): Value[] | string {
    const idx = ins[1];
    if (idx?.t !== 'const' || !idx.c.ints || idx.c.dims.length !== 0) return 'it gathers with indices that are not one constant';
    const rank = a.layout.length;
    let axis = attr(node, 'axis', 0);
    if (axis < 0) axis += rank;
    const i = idx.c.ints[0];
    const dropped = a.layout.filter((_, j) => j !== axis);
    if (a.layout[axis] === -1 && (i === 0 || i === -1)) return layoutOnly(a, tensor, dropped);
    // The last step of a recurrent layer's sequence is its last state.
    const { seg, producer } = take(a, tensor);
    const steps = a.shape[a.shape.length - 1];
    if (producer?.sequences && producer === seg.layers[seg.layers.length - 1] && a.layout[axis] === 2 && (i === -1 || i === steps - 1)) {
      producer.sequences = false;
      producer.nodes.push(node.name);
      const shape = a.shape.slice(0, 1);
      seg.outputShape = shape;
      return [{ t: 'act', seg, shape, layout: dropped, producer }];
    }
    return `it picks element ${i} along a data axis; the language keeps whole tensors (except a recurrent layer's last step)`;
  }

  /**
   * A Slice of the data: kept when it takes every element (an exporter's `x[:, :]`), or the
   * last step of a recurrent layer's sequence (`out[:, -1:]`), which is its last state on an
   * axis of size 1; any other range is refused, since the language keeps whole tensors.
   */
  function slice(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): Value[] | string {
    const constInts = (v: Value | undefined): number[] | undefined => (v?.t === 'const' ? v.c.ints : v?.t === 'sym' && v.v.every((x) => typeof x === 'number') ? (v.v as number[]) : undefined);
    const old = graph.opset < 10;
    const starts = old ? ints(node, 'starts') : constInts(ins[1]);
    const ends = old ? ints(node, 'ends') : constInts(ins[2]);
    if (!starts || !ends) return 'its starts and ends are computed at run time';
    const rank = a.layout.length;
    const axes = (old ? ints(node, 'axes') : ins[3] ? constInts(ins[3]) : undefined) ?? starts.map((_, i) => i);
    const steps = (old ? undefined : ins[4] ? constInts(ins[4]) : undefined) ?? starts.map(() => 1);
    if (axes.length !== starts.length || ends.length !== starts.length || steps.length !== starts.length) return 'its starts, ends, axes and steps differ in length, or are not constant';
    const { seg, producer } = take(a, tensor);
    const layout = [...a.layout];
    let lastStep = false;
    for (let j = 0; j < axes.length; j++) {
      const axis = axes[j] < 0 ? axes[j] + rank : axes[j];
      const ax = a.layout[axis];
      const size = ax < 0 ? 1 : ax === 0 ? Infinity : a.shape[ax - 1];
      const clamp = (x: number): number => Math.max(0, Math.min(size, x < 0 ? x + size : x));
      const [from, to] = [clamp(starts[j]), clamp(ends[j])];
      if (steps[j] === 1 && from === 0 && to >= size) continue;
      const recurrentSteps = producer?.sequences && producer === seg.layers[seg.layers.length - 1] && ax === 2;
      if (recurrentSteps && steps[j] === 1 && from === size - 1 && to === size) {
        layout[axis] = -1;
        lastStep = true;
        continue;
      }
      return `it takes elements ${from} to ${to}${steps[j] !== 1 ? ` in steps of ${steps[j]}` : ''} of axis ${axis} (size ${size}); the language keeps whole tensors (except a recurrent layer's last step)`;
    }
    if (!lastStep || !producer) return [{ t: 'act', seg, shape: a.shape, layout, producer }];
    producer.sequences = false;
    producer.nodes.push(node.name);
    const shape = a.shape.slice(0, 1);
    seg.outputShape = shape;
    return [{ t: 'act', seg, shape, layout, producer }];
  }

  function conv(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): Value[] | string {
    const spatial = a.shape.length - 1;
    if (spatial !== 1 && spatial !== 2) return `Conv on a ${a.shape.length + 1}-D tensor; the language has conv1d and conv2d`;
    if (!identityLayout(a)) return 'Conv on a tensor whose axes were permuted; conv reads the channels-first tensor';
    if (attr(node, 'group', 1) !== 1) return `a grouped (depthwise) convolution, group ${attr(node, 'group', 1)}; the language's convolutions are dense`;
    const W = constFloats(ins[1], 'weight');
    const [F, C, ...k] = W.dims;
    if (C !== a.shape[0] || k.length !== spatial) return `its weight ${formatShape(W.dims)} does not fit an input ${formatShape(a.shape)}`;
    const dil = ints(node, 'dilations') ?? k.map(() => 1);
    if (dil.some((d) => d !== 1)) return `a dilated convolution (dilations ${formatShape(dil)}); the language has none`;
    const strides = ints(node, 'strides') ?? k.map(() => 1);
    if (strides.some((s) => s !== strides[0])) return `strides ${formatShape(strides)} differ by axis; the language's stride is the same on every axis`;
    const stride = strides[0];
    const pads = padsOf(node, a.shape.slice(1), k, stride);
    if (pads !== 'same' && pads !== 'valid') return pads;
    const bias = biasOf(ins[2], F, 1, 1);
    if (typeof bias === 'string') return bias;
    return addLayer(node, a, tensor, {
      kind: spatial === 1 ? 'conv1d' : 'conv2d', filters: F, kernel: k, stride, padding: pads,
      weights: { weight: { shape: W.dims, data: Float32Array.from(W.floats) }, bias: { shape: [F], data: bias } },
    });
  }

  /** The language's padding for a node's pads, or why it has none. */
  function padsOf(node: GraphNode, input: number[], k: number[], stride: number): 'same' | 'valid' | string {
    const auto = (node.attrs.get('auto_pad') as string | undefined) ?? 'NOTSET';
    const same = samePads(input, k, stride);
    let pads: number[];
    if (auto === 'VALID') pads = k.flatMap(() => [0, 0]);
    else if (auto === 'SAME_UPPER') pads = same;
    else if (auto === 'SAME_LOWER') pads = [...same.slice(k.length), ...same.slice(0, k.length)];
    else pads = ints(node, 'pads') ?? k.flatMap(() => [0, 0]);
    if (pads.every((p) => p === 0)) return 'valid';
    if (pads.every((p, i) => p === same[i])) return 'same';
    return `pads ${formatShape(pads)} on input ${formatShape(input)}; the language states 'valid' (none) or 'same' (${formatShape(same)} here)`;
  }

  function pool(node: GraphNode, a: Act, tensor: string): Value[] | string {
    const spatial = a.shape.length - 1;
    if ((spatial !== 1 && spatial !== 2) || !identityLayout(a)) return `${node.opType} on a tensor the language does not pool (it pools channels-first [C, L] or [C, H, W])`;
    const k = ints(node, 'kernel_shape') ?? [];
    if (k.length !== spatial) return `its kernel ${formatShape(k)} does not fit an input ${formatShape(a.shape)}`;
    const strides = ints(node, 'strides') ?? k.map(() => 1);
    if (strides.some((s) => s !== strides[0])) return `strides ${formatShape(strides)} differ by axis; the language's stride is the same on every axis`;
    if ((ints(node, 'dilations') ?? []).some((d) => d !== 1)) return 'a dilated pool; the language has none';
    const pads = padsOf(node, a.shape.slice(1), k, strides[0]);
    if (pads !== 'valid') return pads === 'same' ? "a padded pool; the language's pools do not pad" : pads;
    if (node.outputs.slice(1).some((o) => o && (readers.get(o) ?? 0) > 0)) return 'its indices output is used';
    const draft: Omit<LayerDraft, 'nodes'> = { kind: node.opType === 'MaxPool' ? 'maxpool' : 'avgpool', poolSize: k, stride: strides[0], weights: {} };
    if (attr(node, 'ceil_mode', 0) === 1) {
      const r = inferLayer(draft, a.shape);
      const ceil = a.shape.slice(1).map((len, i) => Math.ceil((len - k[i]) / strides[0]) + 1);
      if (!r.ok || r.outputShape.slice(1).some((v, i) => v !== ceil[i])) return 'ceil_mode = 1 gives a partial window here; the language floors';
    }
    return addLayer(node, a, tensor, draft);
  }

  function globalPool(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): Value[] | string {
    const spatial = a.shape.length - 1;
    const kind = node.opType === 'GlobalAveragePool' || node.opType === 'ReduceMean' ? 'avgpool' : 'maxpool';
    if ((spatial !== 1 && spatial !== 2) || !identityLayout(a)) return `${node.opType} on a tensor the language does not pool (it pools channels-first [C, L] or [C, H, W])`;
    let keep = true;
    if (node.opType.startsWith('Reduce')) {
      const axes = axesOf(node, ins);
      if (!axes || axes === 'dynamic') return `${node.opType} without constant axes`;
      const want = a.shape.slice(1).map((_, i) => i + 2);
      const got = axes.map((x) => (x < 0 ? x + a.layout.length : x)).sort();
      if (got.length !== want.length || got.some((x, i) => x !== want[i])) return `${node.opType} over axes ${formatShape(axes)}; the language pools over every spatial axis (global pooling)`;
      keep = attr(node, 'keepdims', 1) === 1;
    }
    return addLayer(node, a, tensor, { kind, global: true, weights: {} }, () => [0, 1, ...(keep ? a.shape.slice(1).map(() => -1) : [])]);
  }

  function recurrent(node: GraphNode, ins: (Value | undefined)[], a: Act, tensor: string): (Value | undefined)[] | string {
    const lstm = node.opType === 'LSTM';
    const batchFirst = attr(node, 'layout', 0) === 1;
    const want = batchFirst ? [0, 2, 1] : [2, 0, 1];
    if (a.shape.length !== 2 || a.layout.length !== 3 || a.layout.some((v, i) => v !== want[i]))
      return `${node.opType} reads a tensor laid out as ${formatShape(a.layout)} of the pipeline's [N, features, steps]; the language's ${lstm ? 'lstm' : 'gru'} reads the sequence along the steps axis`;
    if ((node.attrs.get('direction') ?? 'forward') !== 'forward') return `a ${node.attrs.get('direction')} ${node.opType}; the language's recurrent layers run forward`;
    const acts = node.attrs.get('activations');
    const defaults = lstm ? ['Sigmoid', 'Tanh', 'Tanh'] : ['Sigmoid', 'Tanh'];
    if (Array.isArray(acts) && acts.some((x, i) => x !== defaults[i])) return `activations ${(acts as string[]).join(', ')}; the language's ${node.opType} uses ${defaults.join(', ')}`;
    if (node.attrs.get('clip') !== undefined) return 'a clipped cell; the language has no clip';
    if (!lstm && attr(node, 'linear_before_reset', 0) !== 1)
      return "linear_before_reset = 0 (Keras's reset_after=False); the language's gru applies the reset gate after the recurrent product (PyTorch's form)";
    if (lstm && attr(node, 'input_forget', 0) !== 0) return 'coupled input and forget gates; the language has none';
    if (ins[4]) return 'sequence lengths are given; the language runs every step';
    const zeroOrAbsent = (v: Value | undefined): boolean => !v || v.t === 'zeros' || (v.t === 'const' && !!v.c.floats && v.c.floats.every((x) => x === 0));
    if (!zeroOrAbsent(ins[5]) || (lstm && !zeroOrAbsent(ins[6]))) return 'its initial state is not zero; the language starts from zero';
    if (lstm && !zeroOrAbsent(ins[7])) return 'peephole weights; the language has none';
    const gates = lstm ? 4 : 3;
    const h = attr(node, 'hidden_size', 0);
    const f = a.shape[0];
    const W = constFloats(ins[1], 'W');
    const R = constFloats(ins[2], 'R');
    if (W.floats.length !== gates * h * f || R.floats.length !== gates * h * h) return `its weights ${formatShape(W.dims)} and ${formatShape(R.dims)} do not fit hidden size ${h} on ${f} features`;
    const B = ins[3] ? constFloats(ins[3], 'B').floats : new Float32Array(2 * gates * h);
    if (B.length !== 2 * gates * h) return `its bias has ${B.length} values, not ${2 * gates * h}`;
    const used = node.outputs.map((o) => !!o && (readers.get(o) ?? 0) > 0);
    if (lstm && used[2]) return "its cell state output is used; the language's lstm gives the sequence or the last hidden state";
    if (used[0] && used[1]) return 'both its sequence and its last state are used; the language gives one of them';
    const sequences = used[0];
    const draft: Omit<LayerDraft, 'nodes'> = {
      kind: lstm ? 'lstm' : 'gru', units: h, sequences,
      weights: { W: { shape: [1, gates * h, f], data: Float32Array.from(W.floats) }, R: { shape: [1, gates * h, h], data: Float32Array.from(R.floats) }, B: { shape: [1, 2 * gates * h], data: Float32Array.from(B) } },
    };
    // Y is [T, 1, N, H] ([N, T, 1, H] batch first) of the sequence [N, H, T]; Y_h is [1, N, H] ([N, 1, H]) of the state [N, H].
    const yLayout = batchFirst ? [0, 2, -1, 1] : [2, -1, 0, 1];
    const hLayout = batchFirst ? [0, -1, 1] : [-1, 0, 1];
    const r = addLayer(node, a, tensor, draft, () => (sequences ? yLayout : hLayout));
    if (typeof r === 'string') return r;
    return sequences ? [r[0], undefined] : [undefined, r[0]];
  }

  // Graph outputs: each ends a head.
  for (const o of graph.outputs) {
    const v = values.get(o.name);
    if (!v || v.t === 'bad') continue;
    if (v.t !== 'act') {
      refusals.push({ node: o.name, opType: 'output', reason: 'the output does not depend on the input' });
      continue;
    }
    const kept = v.layout.filter((x) => x >= 0);
    if (v.shape.length !== 1 || kept.length !== 2 || kept[0] !== 0) {
      refusals.push({ node: o.name, opType: 'output', reason: `the output is ${formatShape(v.shape)} per example; a head ends in a vector of class scores` });
      continue;
    }
    let seg = take(v, o.name).seg;
    if (seg.output !== undefined || seg.children.length > 0 || (seg === root && seg.layers.length === 0)) {
      // An output read by other nodes too (or the input itself) gets a head of its own, a `linear` layer.
      const child: Segment = { layers: [], children: [], parent: seg, outputShape: v.shape };
      seg.children.push(child);
      seg = child;
    }
    seg.output = o.name;
  }
  if (refusals.length > 0) return { ok: false, refusals };
  moveFinalActivation(root);
  return { ok: true, root, inputShape };
}

/**
 * A head without layers of its own (an output also read by other layers) is written as
 * `linear`, and the runner turns a linear head's scores into probabilities with a softmax.
 * When the tensor it reads already went through a softmax or sigmoid, that would apply a
 * second one: the activation moves from the end of the shared segment to the start of each
 * of its branches instead, which computes the same tensors.
 */
function moveFinalActivation(s: Segment): void {
  for (const c of s.children) moveFinalActivation(c);
  if (!s.children.some((c) => c.output !== undefined && c.layers.length === 0)) return;
  const last = s.layers[s.layers.length - 1];
  const activation = last?.activation;
  if (!last || (activation !== 'softmax' && activation !== 'sigmoid')) return;
  let nodes: string[];
  if (last.kind === 'activation') {
    s.layers.pop();
    nodes = last.nodes;
  } else {
    delete last.activation;
    nodes = last.nodes.splice(-1);
  }
  for (const c of s.children) c.layers.unshift({ kind: 'activation', activation, weights: {}, nodes });
}

type ShapeResult = Value | string;

/** Evaluates a node none of whose inputs depends on the model's data: constants and symbolic shapes. */
function evalShapeOp(node: GraphNode, ins: (Value | undefined)[], opset: number): ShapeResult {
  const vec = (v: Value | undefined): Sym[] | undefined => (v?.t === 'sym' ? v.v : v?.t === 'const' && v.c.ints ? v.c.ints : undefined);
  const out = (v: Sym[], scalar = false): Value =>
    v.every((x) => typeof x === 'number') ? { t: 'const', c: { dims: scalar ? [] : [v.length], ints: v as number[] } } : { t: 'sym', v };
  const attrNum = (name: string, d: number): number => (typeof node.attrs.get(name) === 'number' ? (node.attrs.get(name) as number) : d);
  switch (node.opType) {
    case 'Identity':
    case 'Cast':
      return ins[0] ?? 'it has no input';
    case 'Gather': {
      const d = vec(ins[0]);
      const idx = ins[1]?.t === 'const' ? ins[1].c : undefined;
      if (!d || !idx?.ints || attrNum('axis', 0) !== 0) break;
      const pick = idx.ints.map((i) => d[i < 0 ? i + d.length : i]);
      if (pick.some((x) => x === undefined)) return 'it gathers an index outside the shape';
      return out(pick, idx.dims.length === 0);
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const d = vec(ins[0]);
      if (d) return out(d);
      break;
    }
    case 'Concat': {
      const parts = ins.map(vec);
      if (parts.every((p) => p)) return out(parts.flatMap((p) => p!));
      break;
    }
    case 'Slice': {
      const d = vec(ins[0]);
      const starts = opset >= 10 ? vec(ins[1]) : (node.attrs.get('starts') as number[] | undefined);
      const ends = opset >= 10 ? vec(ins[2]) : (node.attrs.get('ends') as number[] | undefined);
      if (d && starts?.length === 1 && ends?.length === 1 && typeof starts[0] === 'number' && typeof ends[0] === 'number' && !ins[4]) {
        const clamp = (x: number): number => Math.max(0, Math.min(d.length, x < 0 ? x + d.length : x));
        return out(d.slice(clamp(starts[0]), clamp(ends[0])));
      }
      break;
    }
    case 'ConstantOfShape':
    case 'Expand': {
      const value = node.opType === 'Expand' ? ins[0] : undefined;
      const fill = node.opType === 'ConstantOfShape' ? node.attrs.get('value') : undefined;
      const zero = node.opType === 'ConstantOfShape'
        ? !fill || (typeof fill === 'object' && !Array.isArray(fill) && [...(fill.floats ?? fill.ints ?? [0])].every((x) => x === 0))
        : value?.t === 'zeros' || (value?.t === 'const' && [...(value.c.floats ?? value.c.ints ?? [1])].every((x) => x === 0));
      if (zero) return { t: 'zeros' };
      break;
    }
    default:
      return `${node.opType} is an op the language lacks`;
  }
  return `${node.opType} on constants the importer cannot evaluate`;
}
