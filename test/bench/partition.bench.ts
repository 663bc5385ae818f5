/**
 * Exact partitioning speed: the three samples (goal < 100 ms each) and a generated
 * 200-layer trunk-and-heads pipeline over 4 processors with a cloud (goal < 2 s), plus,
 * for scale, one schedule evaluation (what brute force would pay per assignment).
 * `npx tsx test/bench/run.ts partition`
 */
import '../../language/polyfills';
import { loadPipeline } from '../../cli/load';
import { buildIr } from '../../engine/ir';
import { partitionPipeline } from '../../engine/partition/partition';
import { scheduleIr } from '../../engine/schedule';
import { specOf } from '../unit/engine/spec-of';
import { largePipeline } from '../unit/partition/random-pipelines';
import { medianMs, report } from './util';

/** Runs the benchmark and prints medians with their goals. */
export async function run(): Promise<void> {
  for (const file of ['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense']) {
    const { spec } = await loadPipeline(file);
    const r = partitionPipeline(spec);
    const ms = await medianMs(() => partitionPipeline(spec), 11, 2);
    const ir = buildIr(spec);
    const one = await medianMs(() => scheduleIr(spec, ir, {}), 21, 3);
    report(`partition ${file}`, ms, `goal < 100 ms (${(ms / 100).toFixed(2)}x of goal); ${r.nodes} nodes, ${r.evaluations} schedules; exact ${r.exact}; one schedule ${one.toFixed(3)} ms`);
  }
  const big = await specOf(largePipeline(176, 4, 6));
  const units = big.blocks.reduce((s, b) => s + b.layers.length, 0) + 1;
  const r = partitionPipeline(big);
  const ms = await medianMs(() => partitionPipeline(big), 5, 1);
  report(`partition ${units}-unit trunk+4 heads, 4 processors`, ms, `goal < 2000 ms (${(ms / 2000).toFixed(2)}x of goal); ${r.nodes} nodes; exact ${r.exact}; processors used ${[...new Set(Object.values(r.placement))].join(', ')}`);
  const tight = await specOf(largePipeline(176, 4, 6, 16));
  const rt = partitionPipeline(tight, { maxNodes: 20_000 });
  const msTight = await medianMs(() => partitionPipeline(tight, { maxNodes: 20_000 }), 3, 0);
  report(`same, dsp memory 16 MB (memory binds), 20k-node limit`, msTight, `exact ${rt.exact}; ${rt.nodes} nodes, ${rt.evaluations} leaves; objective ${rt.objective.toFixed(5)} (proven only at the default limit: see docs/partition.md)`);
  // The default node limit, as `sense partition` runs it (one run: several seconds).
  const t0 = performance.now();
  const rd = partitionPipeline(tight);
  const msDefault = performance.now() - t0;
  report(`same, default 500k-node limit (one run)`, msDefault, `beyond the issue's case (its DSP has room): ${(msDefault / 2000).toFixed(2)}x of 2 s; exact ${rd.exact}; ${rd.nodes} nodes, ${rd.evaluations} leaves; objective ${rd.objective.toFixed(5)}`);
}
