/** `sense info FILE [--pipeline NAME] [--json]`: the layer table of a checked pipeline. */
import { describeLayer, formatCount } from '../../language/figures';
import { formatShape } from '../../language/layer-shapes';
import type { PipelineSpec } from '../../language/pipeline-model';
import { expectPositionals, parseCommandArgs } from '../args';
import { loadPipeline } from '../load';
import type { CommandContext } from '../main';

export const summary = 'print the layer table of a pipeline: block, layer, kind, output shape, parameters, MACs, activation bytes (--json too)';
export const usage = 'sense info FILE [--pipeline NAME] [--json]';

/** One row of the table, as `--json` prints it. */
export interface InfoLayerRow {
  block: string;
  /** `block.index`. */
  layer: string;
  name?: string;
  /** The layer as the source writes it, e.g. `dense 1024 relu`. */
  kind: string;
  outputShape: number[];
  params: number;
  macs: number;
  activationBytes: number;
}

/** The whole `--json` document. */
export interface InfoJson {
  pipeline: string;
  target: string;
  input: PipelineSpec['input']['kind'];
  featuresShape: number[];
  layers: InfoLayerRow[];
  totals: { params: number; macs: number; activationBytes: number };
}

/** Builds the table of a checked pipeline. */
export function infoOf(spec: PipelineSpec): InfoJson {
  const layers: InfoLayerRow[] = spec.blocks.flatMap((b) =>
    b.layers.map((l) => ({
      block: b.name,
      layer: l.id,
      ...(l.name !== undefined ? { name: l.name } : {}),
      kind: describeLayer(l),
      outputShape: l.outputShape,
      params: l.params,
      macs: l.macs,
      activationBytes: l.activationBytes,
    })),
  );
  const sum = (key: 'params' | 'macs' | 'activationBytes'): number => layers.reduce((a, l) => a + l[key], 0);
  return {
    pipeline: spec.name,
    target: spec.target.name,
    input: spec.input.kind,
    featuresShape: spec.features.outputShape,
    layers,
    totals: { params: sum('params'), macs: sum('macs'), activationBytes: sum('activationBytes') },
  };
}

function parseArgs(args: string[]): { file: string; pipeline?: string; json: boolean } {
  const { values, positionals } = parseCommandArgs(args, { pipeline: { type: 'string' }, json: { type: 'boolean' } }, usage);
  expectPositionals(positionals, 1, 1, 'one .sense file', usage);
  return { file: positionals[0], ...(values.pipeline !== undefined ? { pipeline: values.pipeline } : {}), json: values.json ?? false };
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { file, pipeline, json } = parseArgs(args);
  const { spec } = await loadPipeline(file, pipeline);
  const info = infoOf(spec);
  if (json) {
    ctx.out(JSON.stringify(info, null, 2));
    return 0;
  }
  ctx.out(`pipeline ${info.pipeline} on ${info.target}: ${info.input} input, features ${formatShape(info.featuresShape)}`);
  const header = ['block', 'layer', 'kind', 'output shape', 'parameters', 'MACs', 'activation bytes'];
  const rows = info.layers.map((l) => [l.block, l.name ? `${l.layer} (${l.name})` : l.layer, l.kind, formatShape(l.outputShape), formatCount(l.params), formatCount(l.macs), formatCount(l.activationBytes)]);
  rows.push(['total', '', '', '', formatCount(info.totals.params), formatCount(info.totals.macs), formatCount(info.totals.activationBytes)]);
  const numeric = new Set([4, 5, 6]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  ctx.out(line(header));
  ctx.out(line(widths.map((w) => '-'.repeat(w))));
  rows.forEach((r, i) => {
    if (i === rows.length - 1) ctx.out(line(widths.map((w) => '-'.repeat(w))));
    ctx.out(line(r));
  });
  return 0;
}
