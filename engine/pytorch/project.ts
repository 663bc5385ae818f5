/**
 * `sense export --pytorch`: a self-contained PyTorch project for a checked pipeline, so
 * training can run on an existing engine and scale out (torchrun, DistributedDataParallel).
 *
 * The project is the static Python in ./python/ (layers, the torch/torchaudio front end,
 * data reading, train.py, predict.py; embedded in ./python-sources.generated.ts) plus three
 * files written per pipeline: `model.py`, an `nn.Module` whose blocks and layers mirror the
 * pipeline and whose state_dict names are the weights-file names (engine/weights/weights.ts),
 * so what train.py writes loads into `sense run` and `sense export` unchanged;
 * `pipeline.json`, the input, the feature steps with every length resolved to samples, and
 * the heads' labels; and `initial.safetensors`, the seeded initialisation `sense train`
 * starts from (engine/weights/init.ts), so both trainers start from the same weights.
 */
import { frameGeometry, windowSamples } from '../../language/feature-shapes';
import { FEATURES_KEY, type LayerSpec, type PipelineSpec } from '../../language/pipeline-model';
import { trainabilityProblems } from '../train/network';
import { initWeights } from '../weights/init';
import { encodeSafetensors } from '../weights/safetensors';
import { normalizationRows } from '../weights/weights';
import { PYTHON_SOURCES } from './python-sources.generated';

/** The defaults train.py takes when a flag is not given: `sense train`'s (cli/commands/train.ts). */
export const PYTORCH_TRAIN_DEFAULTS = { epochs: 30, batch: 32, lr: 0.001, val: 0.2, patience: 5, seed: 1 } as const;

/**
 * Names a block may not take in model.py: torch.nn.Module's own attributes (a block is a
 * submodule attribute of the model) and the model's `features` statistics.
 */
const RESERVED_BLOCK_NAMES = new Set([
  'forward', 'training', 'train', 'eval', 'state_dict', 'load_state_dict', 'parameters', 'buffers', 'modules', 'children',
  'named_parameters', 'named_buffers', 'named_modules', 'named_children', 'to', 'cpu', 'cuda', 'float', 'double', 'half',
  'type', 'apply', 'zero_grad', 'register_buffer', 'register_parameter', 'add_module', 'get_submodule', 'get_parameter',
  'requires_grad_', 'extra_repr', 'share_memory', 'dump_patches', 'HEADS', 'LABELS', FEATURES_KEY,
]);

/** A file of the project: its name inside the project folder and its contents. */
export interface ProjectFile {
  name: string;
  data: string | Uint8Array;
}

function pyString(s: string): string {
  return JSON.stringify(s);
}

function pyList(xs: readonly (number | string)[]): string {
  return `[${xs.map((x) => (typeof x === 'string' ? pyString(x) : String(x))).join(', ')}]`;
}

function act(layer: LayerSpec): string {
  return layer.activation && layer.kind !== 'activation' ? pyString(layer.activation) : 'None';
}

/** The constructor call of one layer in model.py. */
function layerCall(layer: LayerSpec): string {
  const spatial = layer.inputShape.slice(1);
  switch (layer.kind) {
    case 'dense':
      return `Dense(${layer.inputShape[layer.inputShape.length - 1] ?? 1}, ${layer.units ?? 1}, act=${act(layer)})`;
    case 'conv1d':
    case 'conv2d': {
      const k = layer.kernel ?? [1];
      const kernel = layer.kind === 'conv1d' ? [k[0]] : [k[0], k[1] ?? k[0]];
      return `Conv(${layer.inputShape[0] ?? 1}, ${layer.filters ?? 1}, ${pyList(kernel)}, stride=${layer.stride ?? 1}, padding=${pyString(layer.padding ?? 'valid')}, spatial=${pyList(spatial)}, act=${act(layer)})`;
    }
    case 'maxpool':
    case 'avgpool': {
      const size = layer.poolSize ?? [2];
      const k = spatial.length === 1 ? [size[0]] : [size[0], size[1] ?? size[0]];
      return `Pool(${pyString(layer.kind === 'maxpool' ? 'max' : 'avg')}, ${pyList(k)}, stride=${layer.stride ?? k[0]}, padding=${pyString(layer.padding ?? 'valid')}, spatial=${pyList(spatial)}, is_global=${layer.global ? 'True' : 'False'}, act=${act(layer)})`;
    }
    case 'batchnorm':
      return `BatchNorm(${layer.inputShape[0] ?? 1}, act=${act(layer)})`;
    case 'gru':
    case 'lstm':
      return `Recurrent(${pyString(layer.kind)}, ${layer.inputShape[0] ?? 1}, ${layer.units ?? 1}, sequences=${layer.sequences ? 'True' : 'False'}, act=${act(layer)})`;
    case 'flatten':
      return `Flatten(act=${act(layer)})`;
    case 'dropout':
      return `Dropout(${layer.dropoutRate ?? 0}, act=${act(layer)})`;
    case 'activation':
      return `Activation(act=${pyString(layer.activation ?? 'linear')})`;
  }
}

/** model.py: the pipeline's blocks as torch modules, in source order. */
export function modelSource(spec: PipelineSpec): string {
  const heads = spec.blocks.filter((b) => b.kind === 'head');
  const rows = normalizationRows(spec);
  const lines = [
    `"""Pipeline ${spec.name} as a torch module, written by \`sense export --pytorch\` from the .sense file.`,
    '',
    'Regenerate it rather than edit it: its layers, their order and their parameter names are the',
    "pipeline's, which is what lets the weights train.py writes load into `sense run` and `sense export`.",
    `Input: features [N, ${spec.features.outputShape.join(', ')}] (see sense_features.py); output: each head's`,
    "probabilities, or with logits=True each head's scores before its final softmax.",
    '"""',
    'from torch import nn',
    '',
    'from sense_layers import Activation, BatchNorm, Block, Conv, Dense, Dropout, FeatureStats, Flatten, Pool, Recurrent',
    '',
    '',
    'class Model(nn.Module):',
    `    """${spec.name}: ${spec.blocks.map((b) => `${b.name} (${b.kind}${b.from ? ` from ${b.from}` : ''})`).join(', ')}."""`,
    '',
    `    HEADS = ${pyList(heads.map((b) => b.name))}`,
    '',
    '    def __init__(self):',
    '        super().__init__()',
  ];
  if (rows !== undefined) lines.push(`        # The normalize step's statistics: features.mean and features.std, ${rows} rows.`, `        self.add_module(${pyString(FEATURES_KEY)}, FeatureStats(${rows}))`);
  for (const b of spec.blocks) {
    lines.push(`        self.add_module(${pyString(b.name)}, Block({`);
    for (const l of b.layers) lines.push(`            ${pyString(String(l.index))}: ${layerCall(l)},  # ${l.id}: ${l.kind} [${l.inputShape.join(', ')}] -> [${l.outputShape.join(', ')}]`);
    lines.push('        }))');
  }
  lines.push('', '    def forward(self, x, logits=False):', '        blocks = self._modules', '        out = {}');
  for (const b of spec.blocks) {
    const src = b.from ? `out_${b.from}` : 'x';
    if (b.kind === 'head') lines.push(`        out[${pyString(b.name)}] = blocks[${pyString(b.name)}](${src}, final_softmax=not logits)`);
    else lines.push(`        out_${b.name} = blocks[${pyString(b.name)}](${src})`);
  }
  lines.push('        return out', '');
  return lines.join('\n');
}

/** pipeline.json: what the Python reads about the pipeline, every length already in samples. */
export function pipelineConfig(spec: PipelineSpec): Record<string, unknown> {
  const input = spec.input;
  if (input.kind === 'image') throw new Error(`pipeline ${spec.name} reads images; the PyTorch project reads WAV (audio) and CSV (inertial) clips, as 'sense train' does`);
  const rateHz = input.rateHz;
  const steps = spec.features.steps.map((s) => {
    switch (s.kind) {
      case 'frames':
        return { kind: 'frames', ...frameGeometry(rateHz, s) };
      case 'logmel':
        return { ...s, fmaxHz: s.fmaxHz ?? rateHz / 2 };
      case 'mfcc':
        return { ...s, fmaxHz: s.fmaxHz ?? rateHz / 2 };
      default:
        return s;
    }
  });
  return {
    pipeline: spec.name,
    input: { ...input, windowSamples: windowSamples(rateHz, input.windowS), hopSamples: Math.max(1, Math.round(rateHz * input.hopS)) },
    features: { steps, outputShape: spec.features.outputShape },
    heads: Object.fromEntries(spec.blocks.filter((b) => b.kind === 'head').map((b) => [b.name, { labels: b.labels ?? null, classes: b.outputShape[0] }])),
    train: PYTORCH_TRAIN_DEFAULTS,
  };
}

/**
 * Every file of the project for `spec`. Throws an Error naming the pipeline and the problem
 * when it cannot be trained (image input, a head that is not a classifier) or a block's name
 * would collide with a torch.nn.Module attribute.
 */
export function pytorchProject(spec: PipelineSpec, seed: number = PYTORCH_TRAIN_DEFAULTS.seed): ProjectFile[] {
  const problems = trainabilityProblems(spec);
  for (const b of spec.blocks) {
    if (RESERVED_BLOCK_NAMES.has(b.name) || b.name.startsWith('_'))
      problems.push(`block '${b.name}' would shadow torch.nn.Module's attribute of that name in model.py; rename the block`);
  }
  if (problems.length > 0) throw new Error(`cannot write a PyTorch project for pipeline ${spec.name}:\n  ${problems.join('\n  ')}`);
  const config = pipelineConfig(spec);
  const meta = { pipeline: spec.name, seed: String(seed), generator: 'sense export --pytorch', role: 'initial weights (engine/weights/init.ts)' };
  return [
    ...Object.entries(PYTHON_SOURCES).map(([name, data]) => ({ name, data })),
    { name: 'model.py', data: modelSource(spec) },
    { name: 'pipeline.json', data: JSON.stringify(config, null, 2) + '\n' },
    { name: 'initial.safetensors', data: encodeSafetensors(initWeights(spec, seed), meta) },
  ];
}
