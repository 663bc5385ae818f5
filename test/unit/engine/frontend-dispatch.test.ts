/**
 * The cost model's optional processor figures: the front end's own throughput
 * (ProcessorSpec.frontendMacsPerS) and the fixed cost of a partition run
 * (ProcessorSpec.dispatchMs). Expected numbers are hand arithmetic from the formulas in
 * engine/cost-model.ts and engine/schedule.ts; processors without the figures must
 * estimate exactly as before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimatePipeline } from '../../../engine/estimate';
import { buildIr } from '../../../engine/ir';
import { planPartitions } from '../../../engine/onnx/partition-plan';
import { partitionOps, resolvePlacement } from '../../../engine/schedule';
import type { PipelineSpec, ProcessorSpec } from '../../../language/pipeline-model';
import { ONE_PROCESSOR, specOf } from './spec-of';

const close = (actual: number, expected: number, rel = 1e-9): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
};

function withProcessor(spec: PipelineSpec, name: string, extra: Partial<ProcessorSpec>): PipelineSpec {
  return { ...spec, target: { ...spec.target, processors: spec.target.processors.map((p) => (p.name === name ? { ...p, ...extra } : p)) } };
}


describe('front-end throughput and dispatch cost', () => {
  // 3 axes x 100 samples; stats mean (1) + std (3) per element: 4 x 300 MACs -> 6 values;
  // normalize 2 per element: 12 MACs. dense 8 relu on 6: 48 + 8; dense 2 softmax on 8: 16 + 2.
  const frontMacs = 4 * 300 + 2 * 6;
  const encMacs = 6 * 8 + 8;
  const headMacs = 8 * 2 + 2;

  it('leaves a processor without the new figures exactly as before', async () => {
    const spec = await specOf(ONE_PROCESSOR);
    const e = estimatePipeline(spec);
    expect(e.features!.macs).toBe(frontMacs);
    close(e.features!.latencyMs, (frontMacs / 1e9) * 1000);
    close(e.endToEndLatencyMs, ((frontMacs + encMacs + headMacs) / 1e9) * 1000);
    expect(e.layers.map((l) => l.dispatchMs)).toEqual([0, 0]);
    expect(e.schedule.ops.every((o) => o.dispatchMs === 0)).toBe(true);
  });

  it('reads the figures from the processor\'s `frontend` and `dispatch` settings', async () => {
    const written = await specOf(ONE_PROCESSOR.replace('power 100 mW }', 'power 100 mW  frontend 10 MMAC/s  dispatch 250 us }'));
    const cpu = written.target.processors[0];
    expect(cpu.frontendMacsPerS).toBe(1e7);
    close(cpu.dispatchMs!, 0.25);
    const viaSpec = estimatePipeline(withProcessor(await specOf(ONE_PROCESSOR), 'cpu', { frontendMacsPerS: 1e7, dispatchMs: 0.25 }));
    const e = estimatePipeline(written);
    close(e.endToEndLatencyMs, viaSpec.endToEndLatencyMs);
    close(e.energyPerInferenceMj, viaSpec.energyPerInferenceMj);
    // Without the settings nothing changes (undefined, not 0 or the compute figure).
    const plain = (await specOf(ONE_PROCESSOR)).target.processors[0];
    expect(plain.frontendMacsPerS).toBeUndefined();
    expect(plain.dispatchMs).toBeUndefined();
  });

  it('prices front-end ops at frontendMacsPerS and charges dispatchMs once for the one partition', async () => {
    const base = await specOf(ONE_PROCESSOR);
    const spec = withProcessor(base, 'cpu', { frontendMacsPerS: 1e7, dispatchMs: 0.25 });
    const e = estimatePipeline(spec);
    const frontMs = (frontMacs / 1e7) * 1000;
    const encMs = (encMacs / 1e9) * 1000 + 0.25;
    const headMs = (headMacs / 1e9) * 1000;
    close(e.features!.latencyMs, frontMs);
    const enc = e.layers.find((l) => l.layerId === 'enc.1')!;
    const head = e.layers.find((l) => l.layerId === 'h.1')!;
    close(enc.latencyMs, encMs);
    expect(enc.dispatchMs).toBe(0.25);
    close(head.latencyMs, headMs);
    expect(head.dispatchMs).toBe(0);
    close(e.endToEndLatencyMs, frontMs + encMs + headMs);
    // 100 mW over the busy time, dispatch included: 0.1 mJ per ms.
    close(e.energyPerInferenceMj, 100 * (frontMs + encMs + headMs) * 1e-3);
    // The difference to the plain estimate is exactly the two new terms.
    const plain = estimatePipeline(base);
    close(e.endToEndLatencyMs - plain.endToEndLatencyMs, frontMs - (frontMacs / 1e9) * 1000 + 0.25);
  });

  it('charges each partition once on its own processor, siblings on one processor sharing one', async () => {
    const spec0 = await specOf(`
      pipeline P {
        input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }
        features { stats mean  normalize }
        shared enc { dense 16 relu  dense 16 relu }
        head a from enc { dense 4 relu  dense 2 softmax }
        head b from enc { dense 3 softmax }
        head c from enc { dense 5 softmax }
        target T
        place a, b on dsp
      }
      device T {
        processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
        processor dsp { compute 2 GMAC/s  memory 8 MB  power 50 mW }
        link cpu <-> dsp { bandwidth 100 MB/s  latency 0.1 ms }
      }`);
    const spec = withProcessor(withProcessor(spec0, 'cpu', { dispatchMs: 0.3 }), 'dsp', { dispatchMs: 0.7 });
    const e = estimatePipeline(spec);
    const plain = estimatePipeline(spec0);
    // Partitions: enc + c on cpu (c reads enc on the same processor), a + b on dsp (siblings reading enc's output).
    expect(planPartitions(spec).partitions.map((p) => [p.processor, p.layers.map((l) => l.id)])).toEqual([
      ['cpu', ['enc.1', 'enc.2', 'c.1']],
      ['dsp', ['a.1', 'a.2', 'b.1']],
    ]);
    const charged = e.layers.filter((l) => l.dispatchMs > 0).map((l) => [l.layerId, l.dispatchMs]);
    expect(charged.length).toBe(2);
    expect(charged[0]).toEqual(['enc.1', 0.3]);
    expect(['a.1', 'b.1']).toContain(charged[1][0]);
    expect(charged[1][1]).toBe(0.7);
    // Energy is additive: active power x dispatch time on each processor.
    close(e.energyPerInferenceMj - plain.energyPerInferenceMj, (100 * 0.3 + 50 * 0.7) * 1e-3);
    // Every op of one partition shares its index; the front end has none.
    for (const o of e.schedule.ops) expect(o.partition).toBe(o.block === 'features' ? -1 : o.processor === 'cpu' ? 0 : 1);
    // The cpu partition is a chain from time 0 (after the front end): its first layer starts later by nothing, ends later by 0.3 ms.
    close(e.layers.find((l) => l.layerId === 'enc.1')!.endMs - plain.layers.find((l) => l.layerId === 'enc.1')!.endMs, 0.3);
  });

  // DeepEar: encoder, ambient, stress on dsp, emotion and speaker (siblings) on cpu; the DESIGN.md example likewise.
  it('groups ops into as many partitions as the export makes, on the samples', async () => {
    const expected: Record<string, number> = { 'samples/deepear/deepear.sense': 2, 'samples/watch/activity.sense': 1, 'test/unit/language/fixtures/design-example.sense': 2 };
    for (const file of Object.keys(expected)) {
      const spec = await specOf(readFileSync(join(process.cwd(), file), 'utf8'), undefined);
      const ir = buildIr(spec);
      const { byOp } = resolvePlacement(spec, ir);
      const { partitionOf, count } = partitionOps(ir, byOp);
      const plan = planPartitions(spec);
      expect(count, file).toBe(plan.partitions.length);
      expect(count, file).toBe(expected[file]);
      // The same grouping (numbering may differ if the IR's order differs from the source's).
      const seen = new Set<number>();
      for (const p of plan.partitions) {
        const k = partitionOf[ir.ops.findIndex((o) => o.id === ir.layerOps[p.layers[0].id][0])];
        expect(seen.has(k), `${file} ${p.id}`).toBe(false);
        seen.add(k);
        for (const l of p.layers) for (const id of ir.layerOps[l.id]) expect(partitionOf[ir.ops.findIndex((o) => o.id === id)], `${file} ${id}`).toBe(k);
      }
    }
  });
});
