/**
 * Seeded random trunk-and-heads pipelines and devices, written as `.sense` text, for the
 * partitioner's brute-force tests and benchmark. Devices have 2-4 processors with random
 * speeds, powers, memories (sometimes too small), op support, links (some pairs without
 * one) and sometimes a remote processor behind a network link.
 */

/** Mulberry32 (engine/compress/random.ts): a small, fast, seeded PRNG returning floats in [0, 1). */
import { mulberry32 as rng } from '../../../engine/compress/random';
import { applyProfileToDevice } from '../../../engine/calibrate/profile';
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile } from '../../../runtime/device-profile';
import type { PipelineSpec } from '../../../language/pipeline-model';

export { rng };

/** Options of {@link randomPipeline}. */
export interface RandomPipelineOptions {
  /** Upper bound on processors^units, so brute force stays cheap (default 2,000). */
  maxAssignments?: number;
  /** Force this many processors (2-4 by default). */
  processors?: number;
  /** Shared trunk layers (1-2 by default), so that memory can bind along a long chain. */
  trunkLayers?: number;
  /** Give every processor but the default one 4-30 KB of memory (by default half of them get it). */
  tightMemory?: boolean;
}

/** A random pipeline and device as one `.sense` text, with its unit count and processor count. */
export function randomPipeline(seed: number, opts: RandomPipelineOptions = {}): { text: string; units: number; processors: number; budgetMs?: number } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const between = (lo: number, hi: number): number => lo + (hi - lo) * r();
  const P = opts.processors ?? 2 + Math.floor(r() * 3);
  const maxAssignments = opts.maxAssignments ?? 2000;
  const maxUnits = Math.max(2, Math.floor(Math.log(maxAssignments) / Math.log(P)));

  const names = ['cpu', 'gpu', 'dsp', 'npu'].slice(0, P);
  const remote = P >= 3 && r() < 0.3 ? names[P - 1] : undefined;
  const lines: string[] = [];
  lines.push('device Rand {');
  lines.push(
    ...randomDeviceBody(r, names, remote, {
      memory: (i) => {
        const small = r() < 0.5 || (opts.tightMemory === true && i > 0);
        return `${small ? Math.round(between(4, 30)) : 4096} KB`;
      },
      supportsChance: 0.4,
      kinds: ['dense', 'flatten', 'relu', 'tanh', 'sigmoid', 'softmax', 'features'],
      kindChance: 0.75,
    }),
  );

  const image = r() < 0.35;
  let units = image ? 0 : 1;
  const layer = (last: boolean): string => (last ? `dense ${2 + Math.floor(r() * 6)} softmax` : `dense ${pick([8, 16, 32, 64])} ${pick(['relu', 'tanh', 'sigmoid'])}`);
  const body: string[] = [];
  body.push('pipeline Rand {');
  if (image) body.push('  input image { size 6 x 6  channels 1  period 1 s }');
  else {
    body.push(`  input inertial { rate 50 Hz  window 2.56 s  accelerometer [x, y, z] }`);
    body.push(`  features { stats ${pick(['mean, std', 'mean, std, min, max', 'rms, range'])}  normalize }`);
  }
  const budget = r() < 0.6 ? between(0.05, 8) : undefined;
  // Trunk: one shared block, sometimes a second one reading from it; heads read from either.
  const trunkLayers: string[] = image ? ['flatten'] : [];
  const trunkLen = opts.trunkLayers ?? 1 + Math.floor(r() * 2);
  for (let i = 0; i < trunkLen; i++) trunkLayers.push(layer(false));
  units += trunkLayers.length;
  body.push(`  shared trunk { ${trunkLayers.join('  ')} }`);
  const sources = ['trunk'];
  if (units + 3 <= maxUnits && r() < 0.3) {
    body.push(`  shared mid from trunk { ${layer(false)} }`);
    units++;
    sources.push('mid');
  }
  let heads = 0;
  while (heads < 4 && (heads < 1 || (units + 1 <= maxUnits && r() < 0.7))) {
    const len = units + 2 <= maxUnits && r() < 0.5 ? 2 : 1;
    const hl: string[] = [];
    for (let i = 0; i < len; i++) hl.push(layer(i === len - 1));
    body.push(`  head h${heads} from ${pick(sources)} { ${hl.join('  ')} }`);
    units += len;
    heads++;
  }
  body.push('  target Rand');
  body.push(`  optimize energy ${between(0, 1).toFixed(3)} latency ${between(0, 1).toFixed(3)}${budget !== undefined ? ` within ${budget.toFixed(2)} ms` : ''}`);
  body.push('}');
  return { text: [...body, ...lines].join('\n'), units, processors: P, ...(budget !== undefined ? { budgetMs: budget } : {}) };
}

/**
 * `spec` with a random partition-run cost (`dispatchMs`, 0.01-0.5 ms) on each processor
 * with probability `share`, applied as `sense estimate --profile` applies a measured
 * profile (engine/calibrate/profile.ts applyProfileToDevice): a fitted profile whose
 * roofline figures are the processor's own, so only the dispatch cost changes.
 */
export function withDispatch(spec: PipelineSpec, seed: number, share = 0.75): PipelineSpec {
  const r = rng(seed);
  let target = spec.target;
  for (const p of spec.target.processors) {
    if (r() >= share) continue;
    const profile: DeviceProfile = {
      schemaVersion: PROFILE_SCHEMA_VERSION,
      kind: PROFILE_KIND,
      device: target.name,
      processor: p.name,
      measuredAt: '2025-01-01T00:00:00Z',
      machine: { cpu: 'test', runtime: 'test' },
      fitted: true,
      computeMacsPerS: p.computeMacsPerS,
      bandwidthBytesPerS: p.bandwidthBytesPerS,
      overheadMs: p.overheadMs,
      ...(p.frontendMacsPerS !== undefined ? { frontendMacsPerS: p.frontendMacsPerS } : {}),
      dispatchMs: 0.01 + 0.49 * r(),
      samples: [],
    };
    target = applyProfileToDevice(target, profile, `dispatch profile ${p.name}`);
  }
  return { ...spec, target };
}

/**
 * A large trunk-and-heads pipeline for the benchmark: `trunk` shared dense layers and
 * `heads` heads of `headLayers` layers on a 4-processor device (a cpu, an efficient but
 * slow dsp with `dspMemoryMb` of memory, a fast power-hungry gpu, and a cloud server over
 * a network link), so that the optimum mixes processors.
 */
export function largePipeline(trunk: number, heads: number, headLayers: number, dspMemoryMb = 64): string {
  const widths = [256, 192, 128, 96];
  const t: string[] = [];
  for (let i = 0; i < trunk; i++) t.push(`dense ${widths[i % widths.length]} relu`);
  const hs: string[] = [];
  for (let h = 0; h < heads; h++) {
    const l: string[] = [];
    for (let i = 0; i < headLayers - 1; i++) l.push(`dense ${widths[(h + i) % widths.length]} relu`);
    l.push(`dense ${4 + h} softmax`);
    hs.push(`  head h${h} from trunk { ${l.join('  ')} }`);
  }
  return `pipeline Big {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 40 bands  normalize }
  shared trunk { flatten  ${t.join('  ')} }
${hs.join('\n')}
  target BenchSoC
  optimize energy 0.7 latency 0.3 within 500 ms
}

device BenchSoC {
  processor cpu { compute 4 GMAC/s  memory 2 GB  bandwidth 10 GB/s  power 1500 mW  idle 10 mW  overhead 0.01 ms  transfer 50 pJ/B }
  processor gpu { compute 40 GMAC/s  memory 1 GB  bandwidth 20 GB/s  power 4000 mW  idle 10 mW  overhead 0.05 ms  transfer 50 pJ/B
    supports dense, flatten, relu, softmax }
  processor dsp { compute 2 GMAC/s  memory ${dspMemoryMb} MB  bandwidth 4 GB/s  power 300 mW  idle 2 mW  overhead 0.02 ms  transfer 20 pJ/B
    supports features, dense, flatten, relu, softmax }
  processor cloud { compute 1 TMAC/s  memory 16 GB  bandwidth 900 GB/s  power 0 mW  overhead 1 ms  transfer 0 pJ/B }
  link cpu <-> gpu { bandwidth 8 GB/s  latency 0.02 ms }
  link cpu <-> dsp { bandwidth 1 GB/s  latency 0.1 ms }
  link gpu <-> dsp { bandwidth 1 GB/s  latency 0.15 ms }
  link cpu <-> cloud { bandwidth 50 Mbps  rtt 40 ms  power 1500 mW }
  battery 4000 mAh at 3.85 V
  default cpu
}`;
}

/** How {@link randomDeviceBody} draws the parts its callers choose differently. */
export interface RandomDeviceOptions {
  /** The memory of processor `i` as `.sense` text (`64 MB`); called first for each processor, so it may draw from the generator. */
  memory: (i: number) => string;
  /** Chance that a non-default processor lists the kinds it supports. */
  supportsChance: number;
  /** The candidate kinds of a `supports` line, each kept with `kindChance`. */
  kinds: readonly string[];
  kindChance: number;
}

/**
 * The body of a random device block after its `device NAME {` line, closing brace
 * included: one processor per name (random speed, power, idle power, overhead, memory
 * traffic, sometimes limited op support), links between some pairs (a network link with
 * rtt to the `remote` processor from the first one only), a battery and the first name
 * as default. Draws from `r` in a fixed order, so a seed always gives the same text.
 */
export function randomDeviceBody(r: () => number, names: readonly string[], remote: string | undefined, opts: RandomDeviceOptions): string[] {
  const between = (lo: number, hi: number): number => lo + (hi - lo) * r();
  const lines: string[] = [];
  for (const [i, name] of names.entries()) {
    const memory = opts.memory(i);
    lines.push(`  processor ${name} {`);
    lines.push(`    compute ${between(0.005, 2).toFixed(4)} GMAC/s  memory ${memory}  bandwidth ${between(5, 500).toFixed(1)} MB/s`);
    lines.push(`    power ${between(5, 2000).toFixed(1)} mW  idle ${between(0, 10).toFixed(2)} mW  overhead ${between(0, 0.3).toFixed(3)} ms  transfer ${between(1, 100).toFixed(1)} pJ/B`);
    if (i > 0 && r() < opts.supportsChance) {
      const kinds = opts.kinds.filter(() => r() < opts.kindChance);
      if (kinds.length > 0) lines.push(`    supports ${kinds.join(', ')}`);
    }
    lines.push('  }');
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = names[i];
      const b = names[j];
      if (b === remote) {
        if (i === 0) lines.push(`  link ${a} <-> ${b} { bandwidth ${between(1, 20).toFixed(2)} MB/s  rtt ${between(2, 60).toFixed(1)} ms  power ${between(100, 1500).toFixed(0)} mW }`);
        continue;
      }
      if (r() < 0.7) lines.push(`  link ${a} <-> ${b} { bandwidth ${between(10, 2000).toFixed(1)} MB/s  latency ${between(0, 0.5).toFixed(3)} ms  power ${between(0, 200).toFixed(1)} mW }`);
    }
  }
  lines.push('  battery 1000 mAh at 3.7 V', `  default ${names[0]}`, '}');
  return lines;
}
