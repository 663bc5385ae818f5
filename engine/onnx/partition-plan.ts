/**
 * Partitions for export: which processor runs each layer, and the maximal runs of
 * consecutive layers on one processor along the pipeline's DAG (shared trunk, then heads),
 * each exported as one ONNX model.
 */
import type { BlockSpec, LayerSpec, PipelineSpec, Shape } from '../../language/pipeline-model';
import { FEATURES_KEY } from '../../language/pipeline-model';
import { estimatePipeline } from '../estimate';
import { gateOrder } from '../ir';
import type { TensorRef } from '../../runtime/bundle-manifest';


/**
 * The processor of every layer, exactly as the estimate places it (engine/schedule.ts
 * `resolvePlacement`): `overrides` by layer id or block name (an optimizer's result, a
 * user's what-if), then the pipeline's `place` lines, then the target's default
 * processor. Throws when a processor named is not on the target device, since an export
 * cannot fall back silently the way an estimate may.
 */
export function placementOf(spec: PipelineSpec, overrides: Record<string, string> = {}): Record<string, string> {
  const known = new Set(spec.target.processors.map((p) => p.name));
  for (const [key, p] of Object.entries({ ...spec.placement, ...overrides })) {
    if (!known.has(p)) throw new Error(`placement: ${key} is placed on '${p}', which ${spec.target.name} does not have (it has ${[...known].join(', ')})`);
  }
  const estimate = estimatePipeline(spec, { placement: overrides });
  const out: Record<string, string> = {};
  for (const l of estimate.layers) out[l.layerId] = l.processor;
  for (const b of spec.blocks) for (const l of b.layers) out[l.id] ??= spec.target.defaultProcessor;
  return out;
}

/** One partition: layers in execution order, all on one processor. */
export interface PartitionPlan {
  /** `p0`, `p1`, ... in the order they run. */
  id: string;
  processor: string;
  /** The gated head whose layers it holds (it holds no other block's), so the runtime can skip it; absent for ungated blocks. */
  gatedHead?: string;
  layers: LayerSpec[];
  /** Tensors it reads: `features` or outputs of earlier partitions. */
  inputs: TensorRef[];
  /** Tensors it produces that later partitions read or that are head outputs. */
  outputs: TensorRef[];
}

/** The partitions of a pipeline, and where each head's output tensor comes from. */
export interface ExportPlan {
  partitions: PartitionPlan[];
  /** Head name -> the name of its output tensor (its last layer's id). */
  headOutputs: Record<string, TensorRef>;
}

/**
 * Splits the pipeline into partitions. A layer joins the partition of the layer that feeds
 * it when both run on the same processor, else a partition on its processor that already
 * reads the same tensor (sibling heads on one trunk output), else it starts a new one.
 * Partitions are numbered in creation order, which is a valid execution order: each reads
 * only `features` or tensors of earlier partitions. Tensor
 * names are layer ids; a block's output is its last layer's output. Blocks go in the IR's
 * order (engine/ir.ts gateOrder: a gated head after the head its gate reads), and a gated
 * head's layers share a partition only with each other (engine/schedule.ts partitionOps
 * applies the same rule), so the runtime can skip the head by skipping its partitions.
 */
export function planPartitions(spec: PipelineSpec, placement: Record<string, string> = placementOf(spec)): ExportPlan {
  const partitions: PartitionPlan[] = [];
  const partitionOf = new Map<string, PartitionPlan>();
  const shapeOf = new Map<string, Shape>([[FEATURES_KEY, spec.features.outputShape]]);
  const blockOutput = new Map<string, string>();
  const producer = new Map<string, PartitionPlan | undefined>([[FEATURES_KEY, undefined]]);
  const consumers = new Map<string, Set<PartitionPlan>>();
  const inputOf = (block: BlockSpec): string => (block.from ? (blockOutput.get(block.from) ?? FEATURES_KEY) : FEATURES_KEY);
  const headOutputs: Record<string, TensorRef> = {};
  const gatedHeads = new Set(spec.blocks.filter((b) => b.gate && spec.blocks.some((x) => x.name === b.gate!.head)).map((b) => b.name));
  for (const block of gateOrder(spec.blocks)) {
    let prev = inputOf(block);
    const gatedHead = gatedHeads.has(block.name) ? block.name : undefined;
    for (const layer of block.layers) {
      const processor = placement[layer.id] ?? spec.target.defaultProcessor;
      const feeder = producer.get(prev);
      const joins = (q: PartitionPlan): boolean => q.processor === processor && q.gatedHead === gatedHead;
      let part: PartitionPlan | undefined;
      if (feeder && joins(feeder)) part = feeder;
      // Siblings on one processor reading the same tensor (two heads on the trunk's output) share a model.
      else part = partitions.find((q) => q !== feeder && joins(q) && consumers.get(prev)?.has(q));
      if (!part) {
        part = { id: `p${partitions.length}`, processor, ...(gatedHead ? { gatedHead } : {}), layers: [], inputs: [], outputs: [] };
        partitions.push(part);
      }
      part.layers.push(layer);
      partitionOf.set(layer.id, part);
      if (producer.get(prev) !== part) {
        if (!consumers.has(prev)) consumers.set(prev, new Set());
        consumers.get(prev)!.add(part);
      }
      producer.set(layer.id, part);
      shapeOf.set(layer.id, layer.outputShape);
      prev = layer.id;
    }
    blockOutput.set(block.name, prev);
    if (block.kind === 'head') headOutputs[block.name] = { name: prev, shape: shapeOf.get(prev)! };
  }
  for (const [tensor, parts] of consumers) {
    const from = producer.get(tensor);
    for (const p of parts) p.inputs.push({ name: tensor, shape: shapeOf.get(tensor)! });
    if (from && !from.outputs.some((o) => o.name === tensor)) from.outputs.push({ name: tensor, shape: shapeOf.get(tensor)! });
  }
  for (const ref of Object.values(headOutputs)) {
    const from = producer.get(ref.name);
    if (from && !from.outputs.some((o) => o.name === ref.name)) from.outputs.push(ref);
  }
  // A partition's outputs only matter if something reads them; every partition has one by construction.
  return { partitions, headOutputs };
}
