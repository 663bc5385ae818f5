/**
 * Whole-pipeline estimate (buildIr + cost model + schedule + totals) of the DeepEar
 * pipeline and of a generated 2,000-layer pipeline with four heads spread over three
 * processors. Each document is parsed once; only the estimate is timed. The reference in
 * the same run is what a keystroke costs anyway: re-parsing and validating the document
 * (without an estimator). Goals: DeepEar well under 1 ms, 2,000 layers under 20 ms
 * (medians). Prints medians and ratios; asserts nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimatePipeline } from '../../engine/estimate';
import type { PipelineSpec } from '../../language/pipeline-model';
import { buildDocument, createSenseServices } from '../../language/sense-module';
import { medianMs, report } from './util';

const here = dirname(fileURLToPath(import.meta.url));

/** A pipeline of `layers` dense layers: a 1,000-layer encoder and four heads, placed round-robin on cpu, gpu, dsp. */
export function generatedPipeline(layers = 2000): string {
  const encoder = layers / 2;
  const perHead = (layers - encoder) / 4;
  const widths = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => `dense ${32 + ((i * 37 + seed) % 97)} relu`).join('\n    ');
  const heads = [0, 1, 2, 3].map((h) => `  head h${h} from enc {\n    ${widths(perHead - 1, h)}\n    dense 8 softmax\n  }`).join('\n');
  const places = ['cpu', 'gpu', 'dsp'];
  return `pipeline Big {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 40 bands  normalize }
  shared enc {
    flatten
    ${widths(encoder - 1, 7)}
  }
${heads}
  target snapdragon800
  place h0 on gpu
  place h1 on dsp
  place h2 on cpu
  place h3 on gpu
  ${Array.from({ length: 20 }, (_, i) => `place enc.${2 + i * 45} on ${places[i % 3]}`).join('\n  ')}
}
`;
}

async function load(services: ReturnType<typeof createSenseServices>, text: string, uri: string): Promise<PipelineSpec> {
  const doc = await buildDocument(services, text, uri);
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (errors.length > 0) throw new Error(`${uri}: ${errors.map((d) => d.message).join('; ')}`);
  const spec = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0]?.spec;
  if (!spec) throw new Error(`${uri}: no pipeline`);
  return spec;
}

/** Median wall time and mean CPU time (user + system) of `fn` over `runs` runs: CPU time stays meaningful on a loaded machine. */
async function timed(fn: () => unknown, runs: number, warmup: number): Promise<{ wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const wallMs = await medianMs(fn, runs, warmup);
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 / (runs + warmup) };
}

export async function run(): Promise<void> {
  const services = createSenseServices();
  const sample = join(here, '../../samples/deepear/deepear.sense');
  const deepearPath = existsSync(sample) ? sample : join(here, '../unit/language/fixtures/design-example.sense');
  const deepearText = readFileSync(deepearPath, 'utf8');
  const bigText = generatedPipeline(2000);
  const deepear = await load(services, deepearText, 'file:///bench-deepear.sense');
  const big = await load(services, bigText, 'file:///bench-big.sense');
  const layers = big.blocks.reduce((n, b) => n + b.layers.length, 0);

  const deep = await timed(() => estimatePipeline(deepear), 201, 20);
  // The editor re-estimates on every keystroke, so the steady state (JIT-warm) is what matters.
  const bigT = await timed(() => estimatePipeline(big), 41, 20);
  const tDeep = deep.wallMs;
  const tBig = bigT.wallMs;
  let i = 0;
  const parseDeep = await medianMs(() => buildDocument(services, deepearText, `file:///bench-reparse-${i++}.sense`), 21, 3);
  const parseBig = await medianMs(() => buildDocument(services, bigText, `file:///bench-reparse-${i++}.sense`), 5, 1);
  report(`estimate ${deepearPath.endsWith('deepear.sense') ? 'samples/deepear/deepear.sense' : 'design example (DeepEar)'}`, tDeep, `goal < 1 ms: ${(tDeep / 1).toFixed(3)}x of the goal; cpu ${deep.cpuMs.toFixed(3)} ms/run`);
  report('  reference: parse + validate the same document', parseDeep, `estimate/parse = ${(tDeep / parseDeep).toFixed(3)}`);
  report(`estimate generated pipeline (${layers} layers)`, tBig, `goal < 20 ms: ${(tBig / 20).toFixed(3)}x of the goal; cpu ${bigT.cpuMs.toFixed(3)} ms/run`);
  report('  reference: parse + validate the same document', parseBig, `estimate/parse = ${(tBig / parseBig).toFixed(3)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
