/**
 * `sense train FILE DATA`: trains a pipeline's shared blocks and heads jointly on labelled
 * clips (`DATA/HEAD/LABEL/*.wav|csv`) and writes the weights and normalisation statistics
 * to the file its `weights` line names (or `--out`), atomically, with a training record
 * `NAME.training.json` next to them. A path from the `weights` line must lie inside the
 * current directory or the file's folder, and a file there that sense did not write is
 * replaced only with `--force`; both are checked before training starts. See
 * engine/train/trainer.ts for the method.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { augmentWindow, DEFAULT_AUGMENT_RANGES, parseAugmentations, type Augmentation } from '../../engine/train/augment';
import { mixAtSnr } from '../../engine/train/signal';
import type { TrainOptions, TrainResult } from '../../engine/train/trainer';
import { senseWriterMetadata, weightsOwnership, weightsPathFor } from '../../engine/weights/node-weights';
import { encodeSafetensors } from '../../engine/weights/safetensors';
import { assertWeightsFitInFile } from '../../engine/weights/weights';
import { readUserTextSync, resolveUserPath, statUserPath, writeUserFileAtomic } from '../../io/user-files';
import type { PipelineSpec } from '../../language/pipeline-model';
import { numberFlag, parseCommandArgs } from '../args';
import { loadPipeline, namingError, senseRoots, UsageError } from '../load';
import type { CommandContext } from '../main';
import { formatPercent } from '../../language/figures';

export const summary = 'train a pipeline (shared blocks and every head, jointly) on labelled clips DATA/HEAD/LABEL/*.wav|csv; writes its weights file';
export const usage =
  'sense train FILE DATA [--epochs 30] [--seed 1] [--batch 32] [--lr 0.001] [--val 0.2] [--patience 5] [--heads a,b] [--augment gain,shift,speed,reverb,noise] [--noise-dir DIR --snr 0,5,10,20 [--noise-heads a,b]] [--pretrain DIR [--pretrain-epochs 10]] [--out WEIGHTS] [--force] [--pipeline NAME]';

/** Parsed options of `sense train`. */
export interface TrainArgs {
  file: string;
  data: string;
  pipeline?: string;
  epochs: number;
  seed: number;
  batch: number;
  lr: number;
  val: number;
  patience: number;
  heads?: string[];
  noiseDir?: string;
  snrDb: number[];
  noiseHeads?: string[];
  /** Augmentations of the raw training windows (engine/train/augment.ts); `noise` is the --noise-dir mixing. */
  augment?: Augmentation[];
  /** Folder of unlabeled clips to pre-train the shared dense layers on (engine/train/pretrain.ts). */
  pretrain?: string;
  /** Denoising-autoencoder epochs per shared dense layer. */
  pretrainEpochs: number;
  /** Weights file to write instead of the one the pipeline names. */
  out?: string;
  /** Replace a weights file at the pipeline's weights path that sense did not write. */
  force?: boolean;
}

/** The training record written next to the weights (`NAME.training.json`). */
export interface TrainingRecord {
  command: string;
  pipeline: string;
  senseFile: string;
  data: string;
  seed: number;
  epochs: { requested: number; run: number; best: number };
  batch: number;
  learningRate: number;
  valFraction: number;
  patience: number;
  noise?: { dir: string; snrDb: number[]; heads: string[]; clips: number };
  /** Augmentations applied to every audio training window each epoch, with the ranges drawn from. */
  augment?: { kinds: Augmentation[]; ranges: typeof DEFAULT_AUGMENT_RANGES; reverb: string };
  /** Unsupervised pre-training before the supervised stage: per shared layer, its reconstruction loss (first and last epoch) or why it was not trained. */
  pretrain?: { dir: string; clips: number; windows: number; epochsPerLayer: number; maskFraction: number; normalization: string; layers: { layer: string; kind: string; mseFirst?: number; mseLast?: number; note?: string }[] };
  backend: string;
  trainWindows: number;
  valWindows: number;
  /** Held-out accuracy per head at the kept epoch, with the chance level (most frequent class). */
  valAccuracy: TrainResult['valAccuracy'];
  secondsPerEpoch: number[];
  labels: Record<string, string[]>;
  synthetic: string;
}

const SYNTHETIC_REVERB = 'synthetic: direct path, 5 ms pre-delay, seeded Gaussian tail decaying 60 dB in the drawn RT60';

const FLAGS = {
  epochs: { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  val: { type: 'string' },
  patience: { type: 'string' },
  heads: { type: 'string' },
  'noise-heads': { type: 'string' },
  'noise-dir': { type: 'string' },
  snr: { type: 'string' },
  augment: { type: 'string' },
  pretrain: { type: 'string' },
  'pretrain-epochs': { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  pipeline: { type: 'string' },
} as const;

function names(flag: string, v: string | undefined, example: string): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').filter(Boolean);
  if (list.length === 0) throw new UsageError(`${flag} needs names such as ${example}`);
  return list;
}

/** Parses the command line; throws {@link UsageError} naming the bad flag. */
export function parseTrainArgs(args: string[]): TrainArgs {
  const { values: v, positionals: pos } = parseCommandArgs(args, FLAGS, usage);
  const o: Partial<TrainArgs> & { snrDb: number[] } = { snrDb: [] };
  o.epochs = numberFlag('--epochs', v.epochs, (x) => Number.isInteger(x) && x >= 1 && x <= 100000, 'a positive integer');
  o.seed = numberFlag('--seed', v.seed, (x) => Number.isInteger(x) && Math.abs(x) <= 0xffffffff, 'an integer');
  o.batch = numberFlag('--batch', v.batch, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  o.lr = numberFlag('--lr', v.lr, (x) => x > 0 && x < 10, 'a learning rate such as 0.001');
  o.val = numberFlag('--val', v.val, (x) => x >= 0 && x < 1, 'a fraction from 0 to below 1, such as 0.2');
  o.patience = numberFlag('--patience', v.patience, (x) => Number.isInteger(x) && x >= 1, 'a positive integer of epochs');
  o.heads = names('--heads', v.heads, 'ambient,speaker');
  o.noiseHeads = names('--noise-heads', v['noise-heads'], 'ambient,speaker');
  if (v['noise-dir'] !== undefined) {
    if (!v['noise-dir']) throw new UsageError('--noise-dir needs a folder of noise WAVs');
    o.noiseDir = v['noise-dir'];
  }
  if (v.snr !== undefined) o.snrDb = v.snr.split(',').map((s) => numberFlag('--snr', s, (x) => x >= -20 && x <= 60, 'dB values from -20 to 60 such as 0,5,10,20')!);
  if (v.augment !== undefined) {
    try {
      o.augment = parseAugmentations(v.augment);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (v.pretrain !== undefined) {
    if (!v.pretrain) throw new UsageError('--pretrain needs a folder of unlabeled clips');
    o.pretrain = v.pretrain;
  }
  o.pretrainEpochs = numberFlag('--pretrain-epochs', v['pretrain-epochs'], (x) => Number.isInteger(x) && x >= 1 && x <= 100000, 'a positive integer');
  if (v['pretrain-epochs'] !== undefined && v.pretrain === undefined) throw new UsageError('--pretrain-epochs needs --pretrain with a folder of unlabeled clips');
  if (v.out !== undefined) {
    if (!v.out) throw new UsageError('--out needs a weights file path');
    o.out = v.out;
  }
  if (v.pipeline !== undefined) o.pipeline = v.pipeline;
  if (v.force) o.force = true;
  for (const k of Object.keys(o) as (keyof typeof o)[]) if (o[k] === undefined) delete o[k];
  if (pos.length !== 2) throw new UsageError(`expected FILE and DATA, got ${pos.length} argument(s); usage: ${usage}`);
  if (o.noiseDir && o.snrDb.length === 0) throw new UsageError('--noise-dir needs --snr with the SNRs to mix at, such as --snr 0,5,10,20');
  if (!o.noiseDir && o.snrDb.length > 0) throw new UsageError('--snr needs --noise-dir with the background-noise WAVs to mix in');
  if (o.augment?.includes('noise') && !o.noiseDir) throw new UsageError('--augment noise needs --noise-dir DIR --snr 0,5,10,20 with the background-noise WAVs to mix in');
  return { file: pos[0], data: pos[1], epochs: 30, seed: 1, batch: 32, lr: 0.001, val: 0.2, patience: 5, pretrainEpochs: 10, ...o };
}

/**
 * Where the weights go: `--out`, else the pipeline's `weights` line; the record is
 * `NAME.training.json` beside them. `roots` is set when the `.sense` file chose the path: it
 * must then resolve inside them (cli/load.ts senseRoots).
 */
export function outputPaths(spec: PipelineSpec, a: TrainArgs): { weights: string; record: string; roots?: string[] } {
  const weights = a.out ? resolve(a.out) : weightsPathFor(spec, a.file);
  if (!weights) throw new UsageError(`${a.file}: pipeline ${spec.name} has no 'weights' line; add one (weights "${spec.name.toLowerCase()}.safetensors") or pass --out FILE`);
  if (weights.toLowerCase().endsWith('.onnx')) throw new UsageError(`${weights}: 'sense train' writes safetensors; point the weights line (or --out) at a .safetensors file`);
  return { weights, record: trainingRecordPath(weights), ...(a.out ? {} : { roots: senseRoots(a.file) }) };
}

/** The training record beside the weights file `weights`: `NAME.training.json` for `NAME.safetensors`. */
export function trainingRecordPath(weights: string): string {
  return join(dirname(weights), `${basename(weights).replace(/\.safetensors$/i, '')}.training.json`);
}

/** True when `path` holds a training record (the JSON `sense train` writes), so it may be replaced. */
function isTrainingRecord(path: string): boolean {
  try {
    const r = JSON.parse(readUserTextSync(path, 'json')) as Partial<TrainingRecord>;
    return typeof r.pipeline === 'string' && typeof r.senseFile === 'string' && typeof r.epochs === 'object';
  } catch {
    return false;
  }
}

/**
 * Refuses, before any training, to write where the `.sense` file points when that is outside
 * its roots, or holds a file sense did not write and `--force` is absent. Paths typed with
 * `--out` are the user's choice and are not checked.
 */
function checkOutputs(paths: ReturnType<typeof outputPaths>, force: boolean): void {
  const { roots } = paths;
  if (!roots) return;
  try {
    resolveUserPath(paths.weights, 'weights', roots);
    resolveUserPath(paths.record, 'json', roots);
    const owner = weightsOwnership(paths.weights, { roots });
    if (owner.kind === 'foreign' && !force)
      throw new UsageError(`${paths.weights} exists and is not a weights file written by sense (${owner.why}); pass --force to replace it, or --out to write elsewhere`);
    if (statUserPath(paths.record, 'json') && !isTrainingRecord(paths.record) && !force)
      throw new UsageError(`${paths.record} exists and is not a training record written by sense train; pass --force to replace it, or --out to write elsewhere`);
  } catch (e) {
    throw namingError(e, [paths.weights, paths.record], 2);
  }
}

/**
 * Runs a training from parsed arguments and writes the weights and the record. Returns the
 * result, the record and the paths written; progress lines go to `log`.
 */
export async function trainFromArgs(a: TrainArgs, log: (line: string) => void, command = ''): Promise<{ result: TrainResult; record: TrainingRecord; paths: { weights: string; record: string } }> {
  // tfjs loads in about a second: import it only when a training runs, not for every sense command.
  const [{ useTrainingBackend }, { readLabelledData, readNoiseClips, readUnlabeledWindows }, { trainPipeline }, { pretrainShared, PRETRAIN_MASK_FRACTION }, { fitNormalization }] = await Promise.all([
    import('../../engine/train/backend'),
    import('../../engine/train/node-data'),
    import('../../engine/train/trainer'),
    import('../../engine/train/pretrain'),
    import('../../engine/train/features'),
  ]);
  const { spec } = await loadPipeline(a.file, a.pipeline);
  // Before reading the data or starting tfjs: a pipeline whose weights no file holds cannot train.
  assertWeightsFitInFile(spec);
  const paths = outputPaths(spec, a);
  checkOutputs(paths, a.force ?? false);
  const kinds = a.augment?.filter((k) => k !== 'noise') ?? [];
  if (kinds.length > 0 && spec.input.kind !== 'audio') throw new UsageError(`--augment ${kinds.join(',')} changes audio; pipeline ${spec.name} reads ${spec.input.kind} data`);
  const data = (() => {
    try {
      return readLabelledData(spec, a.data, { heads: a.heads });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  for (const w of data.warnings) log(`warning: ${w}`);
  let noise: TrainOptions['noise'];
  let noiseClips = 0;
  if (a.noiseDir) {
    if (spec.input.kind !== 'audio') throw new UsageError(`--noise-dir mixes audio; pipeline ${spec.name} reads ${spec.input.kind} data`);
    let read: { signals: Float32Array[] };
    try {
      read = readNoiseClips(a.noiseDir, spec.input.rateHz);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    noiseClips = read.signals.length;
    const heads = a.noiseHeads ?? Object.keys(data.labels);
    for (const h of heads) if (!data.labels[h]) throw new UsageError(`--noise-heads: no data for head '${h}' (heads with data: ${Object.keys(data.labels).join(', ')})`);
    noise = { signals: read.signals, snrDb: a.snrDb, heads, mix: mixAtSnr };
    log(`noise: ${noiseClips} clips from ${a.noiseDir}, mixed into ${heads.join(', ')} at ${a.snrDb.join(', ')} dB (or left clean), drawn anew every epoch`);
  }
  const rateHz = spec.input.kind === 'audio' ? spec.input.rateHz : 0;
  const augment: TrainOptions['augment'] = kinds.length > 0 ? (w, rng) => augmentWindow(w, rateHz, kinds, rng) : undefined;
  if (augment) log(`augment: ${kinds.join(', ')} on every training window, drawn anew every epoch (held-out clips untouched)`);
  let unlabeled: { windows: ReturnType<typeof readUnlabeledWindows>['windows']; clips: number } | undefined;
  if (a.pretrain) {
    try {
      unlabeled = readUnlabeledWindows(spec, a.pretrain);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const { backend, reason } = await useTrainingBackend(spec);
  log(`backend: tfjs ${backend} (${reason})`);
  let pretrained: Awaited<ReturnType<typeof pretrainShared>> | undefined;
  let normalization: TrainOptions['normalization'];
  if (unlabeled && a.pretrain) {
    // The pre-trained layers learned on features normalised with the unlabeled clips' statistics:
    // the supervised stage keeps those statistics, so its first layer sees what pre-training saw.
    normalization = fitNormalization(spec, unlabeled.windows);
    log(`pretrain: ${unlabeled.clips} unlabeled clips (${unlabeled.windows.length} windows) from ${a.pretrain}, ${a.pretrainEpochs} epochs per shared dense layer`);
    try {
      pretrained = await pretrainShared(spec, unlabeled.windows, {
        epochs: a.pretrainEpochs,
        seed: a.seed,
        batchSize: a.batch,
        learningRate: a.lr,
        maskFraction: PRETRAIN_MASK_FRACTION,
        normalization,
        log,
      });
    } catch (e) {
      if (e instanceof Error && /^(cannot train|no training)/.test(e.message)) throw new UsageError(e.message);
      throw e;
    }
  }
  let result: TrainResult;
  try {
    result = await trainPipeline(spec, data.examples, {
      ...(pretrained ? { init: pretrained.weights, normalization } : {}),
      epochs: a.epochs,
      seed: a.seed,
      batchSize: a.batch,
      learningRate: a.lr,
      valFraction: a.val,
      patience: a.patience,
      noise,
      augment,
      log,
    });
  } catch (e) {
    if (e instanceof Error && /^(cannot train|no training|noise mixing|example from)/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
  const record: TrainingRecord = {
    command,
    pipeline: spec.name,
    senseFile: a.file,
    data: a.data,
    seed: a.seed,
    epochs: { requested: a.epochs, run: result.history.length, best: result.bestEpoch },
    batch: a.batch,
    learningRate: a.lr,
    valFraction: a.val,
    patience: a.patience,
    ...(noise && a.noiseDir ? { noise: { dir: a.noiseDir, snrDb: a.snrDb, heads: noise.heads, clips: noiseClips } } : {}),
    ...(augment && a.augment ? { augment: { kinds: a.augment, ranges: DEFAULT_AUGMENT_RANGES, reverb: SYNTHETIC_REVERB } } : {}),
    ...(pretrained && unlabeled && a.pretrain
      ? {
          pretrain: {
            dir: a.pretrain,
            clips: unlabeled.clips,
            windows: unlabeled.windows.length,
            epochsPerLayer: a.pretrainEpochs,
            maskFraction: PRETRAIN_MASK_FRACTION,
            normalization: 'fitted on the unlabeled clips, kept by the supervised stage',
            layers: pretrained.layers.map((l) => ({
              layer: l.layerId,
              kind: l.kind,
              ...(l.reconstructionLoss.length > 0 ? { mseFirst: l.reconstructionLoss[0], mseLast: l.reconstructionLoss[l.reconstructionLoss.length - 1] } : {}),
              ...(l.note ? { note: l.note } : {}),
            })),
          },
        }
      : {}),
    backend,
    trainWindows: result.trainWindows,
    valWindows: result.valWindows,
    valAccuracy: result.valAccuracy,
    secondsPerEpoch: result.history.map((h) => Math.round(h.seconds * 100) / 100),
    labels: data.labels,
    synthetic: 'Trained on synthetic data (scripts/samples): says nothing about accuracy on real recordings.',
  };
  const meta = { pipeline: spec.name, seed: String(a.seed), ...senseWriterMetadata('sense train'), trained_by: 'sense train', record: basename(paths.record) };
  const roots = paths.roots ? { roots: paths.roots } : {};
  try {
    writeUserFileAtomic(paths.weights, encodeSafetensors(result.weights, meta), 'weights', roots);
    writeUserFileAtomic(paths.record, JSON.stringify(record, null, 2) + '\n', 'json', roots);
  } catch (e) {
    throw namingError(e, [paths.weights, paths.record], 1);
  }
  return { result, record, paths };
}

/** Runs `sense train`. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const a = parseTrainArgs(args);
  const { result, paths } = await trainFromArgs(a, ctx.out, `sense train ${args.join(' ')}`);
  ctx.out(`kept epoch ${result.bestEpoch}; held-out accuracy per head (chance level):`);
  for (const [h, v] of Object.entries(result.valAccuracy)) ctx.out(`  ${h.padEnd(12)} ${formatPercent(v.accuracy)}  (chance ${formatPercent(v.chance)}, ${v.windows} windows)`);
  ctx.out(`wrote ${paths.weights}`);
  ctx.out(`wrote ${paths.record}`);
  return 0;
}
