/**
 * Writing a recognised segment tree (./recognise) as `.sense` text and a weight set in the
 * project's naming (`BLOCK.INDEX.ROLE`, engine/weights/weights.ts): a segment with children
 * becomes a `shared` block, a leaf a `head` named after its ONNX output. The input, features,
 * target and optimize lines come from a `--like` pipeline, or are a guess that gives the
 * model's input shape, said so in a comment.
 */
import { AstUtils, GrammarAST } from 'langium';
import { SenseGrammar } from '../../language/generated/grammar';
import { formatShape } from '../../language/layer-shapes';
import type { Shape } from '../../language/pipeline-model';
import type { WeightSet } from '../weights/weights';
import type { LayerDraft, Segment } from './recognise';

/** The front end and device of the imported pipeline, taken from a `--like` pipeline. */
export interface LikePipeline {
  /** The file it came from, for the header comment. */
  source: string;
  /** Source text of its `input`, `features`, `target` and `optimize` statements (features and optimize may be absent). */
  input: string;
  features?: string;
  target: string;
  optimize?: string;
  /** The shape its features hand to the first layer. */
  featureShape: Shape;
  /** The `normalize` step's statistics when its features normalise (identity when its weights lack them). */
  normalization?: { mean: Float32Array; std: Float32Array };
}

let keywords: ReadonlySet<string> | undefined;

/** Every keyword of the language; a block or label must not be one. */
function languageKeywords(): ReadonlySet<string> {
  keywords ??= new Set(AstUtils.streamAllContents(SenseGrammar()).filter(GrammarAST.isKeyword).map((k) => k.value));
  return keywords;
}

/** `text` as a name of the language: non-word characters become `_`, and a keyword gets `_out`. */
export function senseName(text: string, fallback: string): string {
  let n = text.replace(/[^\w]+/g, '_').replace(/^_+|_+$/g, '');
  if (n === '') n = fallback;
  if (/^\d/.test(n)) n = `_${n}`;
  if (languageKeywords().has(n)) n = `${n}_out`;
  return n;
}

function labelText(label: string): string {
  return /^[_a-zA-Z]\w*$/.test(label) && !languageKeywords().has(label) ? label : JSON.stringify(label);
}

/**
 * Class names per output from the model's metadata: `labels.OUTPUT` or `OUTPUT.labels` (a JSON
 * list or comma-separated), or `labels` (a JSON list for a model of one output, or a JSON
 * object from output name to list). Undefined where the metadata says nothing usable.
 */
export function metadataLabels(metadata: Record<string, string>, output: string, single: boolean): string[] | undefined {
  const parse = (s: string | undefined): unknown => {
    if (s === undefined) return undefined;
    try {
      return JSON.parse(s);
    } catch {
      return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
    }
  };
  const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number') ? v.map(String) : undefined);
  const direct = list(parse(metadata[`labels.${output}`] ?? metadata[`${output}.labels`]));
  if (direct) return direct;
  const all = parse(metadata.labels);
  if (single && list(all)) return list(all);
  if (all && typeof all === 'object' && !Array.isArray(all)) return list((all as Record<string, unknown>)[output]);
  return undefined;
}

function layerLine(l: LayerDraft): string {
  const act = l.activation && l.activation !== 'linear' ? ` ${l.activation}` : '';
  switch (l.kind) {
    case 'dense':
      return `dense ${l.units}${act}`;
    case 'conv1d':
    case 'conv2d': {
      const k = l.kernel!;
      const kernel = k.length === 2 && k[0] !== k[1] ? `${k[0]} x ${k[1]}` : `${k[0]}`;
      return `${l.kind} ${l.filters} kernel ${kernel}${l.stride && l.stride !== 1 ? ` stride ${l.stride}` : ''}${l.padding === 'same' ? ' padding same' : ''}${act}`;
    }
    case 'maxpool':
    case 'avgpool': {
      if (l.global) return `${l.kind} global`;
      const k = l.poolSize!;
      const size = k.length === 2 && k[0] !== k[1] ? `${k[0]} x ${k[1]}` : `${k[0]}`;
      return `${l.kind} ${size}${l.stride !== undefined && l.stride !== k[0] ? ` stride ${l.stride}` : ''}`;
    }
    case 'gru':
    case 'lstm':
      return `${l.kind} ${l.units}${l.sequences ? ' sequences' : ''}`;
    case 'activation':
      return l.activation ?? 'linear';
    default:
      return l.kind;
  }
}

/** Audio features that give `[bands, frames]` at 16 kHz with 25 ms frames every 10 ms. */
function guessFrontEnd(shape: Shape): { lines: string[]; what: string } | undefined {
  if (shape.length === 3) {
    return { lines: [`input image { size ${shape[1]} x ${shape[2]}  channels ${shape[0]} }`], what: 'an image input' };
  }
  if (shape.length === 2 && shape[0] === 1) {
    return { lines: [`input audio { rate 16 kHz  window ${shape[1] / 16} ms }`, 'features { raw }'], what: 'raw 16 kHz audio' };
  }
  if (shape.length === 2) {
    const windowMs = 25 + (shape[1] - 1) * 10;
    return {
      lines: [`input audio { rate 16 kHz  window ${windowMs} ms }`, `features {\n    frames 25 ms hop 10 ms\n    logmel ${shape[0]} bands\n  }`],
      what: `${shape[0]} log-mel bands of 16 kHz audio in 25 ms frames every 10 ms`,
    };
  }
  if (shape.length === 1) {
    const axes = ['accelerometer [x, y, z]', 'gyroscope [x, y, z]', 'magnetometer [x, y, z]', 'barometer [pressure]'];
    const axisCounts = [3, 6, 9, 10];
    const stats = ['mean', 'std', 'min', 'max', 'rms', 'range', 'median', 'energy', 'skew', 'kurtosis', 'zcr'];
    for (let s = 1; s <= stats.length; s++) {
      const a = axisCounts.indexOf(shape[0] / s);
      if (a < 0) continue;
      const sensors = axes.slice(0, a + 1).join('\n    ');
      return {
        lines: [`input inertial {\n    rate 50 Hz\n    window 2.56 s\n    ${sensors}\n  }`, `features { stats ${stats.slice(0, s).join(', ')} }`],
        what: `${s} statistics of ${axisCounts[a]} inertial axes`,
      };
    }
  }
  return undefined;
}

/** The model's input has a shape for which no input and features can be guessed. */
export class NoFrontEndGuess extends Error {}

/** The result of {@link writeSense}. */
export interface WrittenPipeline {
  text: string;
  weights: WeightSet;
  /** Notes for the user (labels defaulted, a guessed front end). */
  notes: string[];
}

/**
 * Writes the pipeline `name` for the tree under `root`. `outputs` lists the ONNX outputs in
 * order (heads are written in that order); `weightsFile` is the `weights` line's path. Throws
 * {@link NoFrontEndGuess} naming the shape when there is no `like` and no front end gives the model's input.
 */
export function writeSense(opts: {
  name: string;
  root: Segment;
  inputShape: Shape;
  outputs: string[];
  metadata: Record<string, string>;
  like?: LikePipeline;
  weightsFile: string;
  header: string[];
}): WrittenPipeline {
  const notes: string[] = [];
  const weights: WeightSet = new Map();
  const blocks: string[] = [];
  const used = new Set<string>();
  const unique = (n: string): string => {
    let name = n;
    for (let i = 2; used.has(name); i++) name = `${n}_${i}`;
    used.add(name);
    return name;
  };
  const outputOrder = (s: Segment): number => {
    if (s.output !== undefined) return opts.outputs.indexOf(s.output);
    return Math.min(...s.children.map(outputOrder));
  };
  // A shared segment without layers (a branch right after a branch) passes its children up.
  const childrenOf = (s: Segment): Segment[] =>
    s.children.flatMap((c) => (c.children.length > 0 && c.layers.length === 0 ? childrenOf(c) : [c])).sort((a, b) => outputOrder(a) - outputOrder(b));

  const emit = (s: Segment, from: string | undefined, sharedCount: { n: number }): void => {
    const isHead = s.children.length === 0;
    const name = isHead ? unique(senseName(s.output ?? 'head', 'head')) : unique(sharedCount.n++ === 0 ? 'trunk' : `trunk${sharedCount.n}`);
    const layers = s.layers.length > 0 || !isHead ? s.layers : [{ kind: 'activation' as const, activation: 'linear' as const, weights: {}, nodes: [] }];
    const lines = layers.map((l, i) => {
      for (const [role, t] of Object.entries(l.weights)) weights.set(`${name}.${i + 1}.${role}`, t);
      const line = layerLine(l);
      return l.nodes.length > 0 ? `    ${line.padEnd(36)} // ${l.nodes.join(', ')}` : `    ${line}`;
    });
    if (isHead) {
      const width = s.outputShape[0];
      let labels = s.output !== undefined ? metadataLabels(opts.metadata, s.output, opts.outputs.length === 1) : undefined;
      if (labels && labels.length !== width) {
        notes.push(`the metadata gives ${labels.length} labels for output '${s.output}' of width ${width}; using c0..c${width - 1}`);
        labels = undefined;
      }
      if (!labels) labels = Array.from({ length: width }, (_, i) => `c${i}`);
      lines.push(`    labels [${labels.map(labelText).join(', ')}]`);
    }
    blocks.push(`  ${isHead ? 'head' : 'shared'} ${name}${from ? ` from ${from}` : ''} {\n${lines.join('\n')}\n  }`);
    if (!isHead) for (const c of childrenOf(s)) emit(c, s.layers.length > 0 ? name : from, sharedCount);
  };
  const counter = { n: 0 };
  if (opts.root.children.length > 0 && opts.root.layers.length === 0) for (const c of childrenOf(opts.root)) emit(c, undefined, counter);
  else emit(opts.root, undefined, counter);

  const front: string[] = [];
  if (opts.like) {
    front.push(`// Input, features, target and optimize from ${opts.like.source}.`);
    front.push(opts.like.input);
    if (opts.like.features) front.push(opts.like.features);
    if (opts.like.normalization) {
      weights.set('features.mean', { shape: [opts.like.normalization.mean.length], data: opts.like.normalization.mean });
      weights.set('features.std', { shape: [opts.like.normalization.std.length], data: opts.like.normalization.std });
    }
  } else {
    const guess = guessFrontEnd(opts.inputShape);
    if (!guess) throw new NoFrontEndGuess(`the model reads ${formatShape(opts.inputShape)}, which no input the importer can guess gives; import again with --like PIPELINE.sense naming a pipeline whose features give ${formatShape(opts.inputShape)}`);
    front.push(`// The model reads ${formatShape(opts.inputShape)}; these lines are a guess that gives that shape (${guess.what}).`);
    front.push('// Replace them with the input and front end the model was trained on, or import again with --like PIPELINE.sense.');
    front.push(...guess.lines);
    notes.push(`no --like pipeline: the input and features are a guess that gives ${formatShape(opts.inputShape)} (${guess.what}); replace them with what the model was trained on`);
  }
  const tail = [opts.like ? opts.like.target : 'target snapdragon800', `weights ${JSON.stringify(opts.weightsFile)}`];
  if (opts.like?.optimize) tail.push(opts.like.optimize);
  const body = [...front, '', ...blocks.map((b) => b.slice(2)), '', ...tail].map((l) => (l === '' ? '' : `  ${l}`)).join('\n');
  const text = `${opts.header.map((h) => `// ${h}`).join('\n')}\npipeline ${opts.name} {\n${body}\n}\n`;
  return { text, weights, notes };
}
