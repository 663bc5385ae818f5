/**
 * The sample plans kept as golden data: which samples, with which weights and budget
 * (the file's own `optimize` line unless given). Shared by the generator script
 * (scripts: `npx tsx test/unit/partition/make-golden.ts`) and the golden test.
 */
import type { OptimizeSpec } from '../../../language/pipeline-model';

/** One golden case: a sample file and the objective overrides to partition it with. */
export interface GoldenCase {
  name: string;
  file: string;
  optimize?: Partial<OptimizeSpec>;
  keepPins?: boolean;
}

/** The cases, by name. */
export const GOLDEN_CASES: GoldenCase[] = [
  { name: 'deepear', file: 'samples/deepear/deepear.sense' },
  { name: 'deepear-energy', file: 'samples/deepear/deepear.sense', optimize: { energyWeight: 1, latencyWeight: 0 } },
  { name: 'deepear-latency', file: 'samples/deepear/deepear.sense', optimize: { energyWeight: 0, latencyWeight: 1 } },
  { name: 'deepear-keep-pins', file: 'samples/deepear/deepear.sense', keepPins: true },
  { name: 'deepear-tight-budget', file: 'samples/deepear/deepear.sense', optimize: { budgetMs: 1 } },
  { name: 'alexnet', file: 'samples/deepx/alexnet.sense' },
  { name: 'watch', file: 'samples/watch/activity.sense' },
];

/** Path of the golden file, relative to the repository root. */
export const GOLDEN_PATH = 'test/unit/partition/golden/samples.json';
