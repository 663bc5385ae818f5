/**
 * `sense estimate A.sense B.sense [--json]`: pipelines that share one device, each at its own
 * window rate (engine/multi-estimate.ts). The command (cli/commands/estimate.ts) loads and
 * prepares each file as it does one (target, profile, weights ranks) and hands them here; this
 * file runs the joint estimate and writes its report.
 */
import type { PipelineSpec } from '../language/pipeline-model';
import type { EstimateOptions } from '../engine/estimate';
import { estimateTogether, TogetherError, type TogetherEstimate } from '../engine/multi-estimate';
import { formatHours, formatMs, formatNumber } from '../language/figures';
import { UsageError } from './load';
import type { CommandContext } from './main';
import { fixed, table } from './table';

/** One file's pipeline, ready to estimate: its spec after --target/--profile and its estimate options. */
export interface PreparedPipeline {
  file: string;
  spec: PipelineSpec;
  options: EstimateOptions;
}

/** The `--json` object of several pipelines: per pipeline and `combined`. */
export function togetherJson(t: TogetherEstimate, files: readonly string[]) {
  return {
    pipelines: t.pipelines.map((p, i) => ({ file: files[i], ...p, batteryLifeHours: p.batteryLifeHours ?? null, issues: t.estimates[i].issues })),
    combined: { ...t.combined, batteryEnergyMwh: t.combined.batteryEnergyMwh ?? null, batteryLifeHours: t.combined.batteryLifeHours ?? null, batteryPercentPerDay: t.combined.batteryPercentPerDay ?? null },
  };
}

/** The human-readable report of several pipelines, one line per entry. */
export function togetherText(t: TogetherEstimate): string[] {
  const c = t.combined;
  const out = [`${t.pipelines.map((p) => p.pipeline).join(' + ')} together on ${c.target}`, ''];
  const rows = t.pipelines.map((p) => [p.pipeline, fixed(p.hopMs, 1), fixed(p.averagePowerMw, 2), p.batteryLifeHours !== undefined ? formatHours(p.batteryLifeHours) : '-', fixed(p.endToEndLatencyMs), fixed(p.worstLatencyMs), p.sampler]);
  out.push(...table(['pipeline', 'hop ms', 'alone mW', 'alone battery', 'latency ms', 'worst latency ms', 'sampler'], rows, [false, true, true, true, true, true, false]));
  out.push('');
  const procRows = c.processors.map((p) => [p.name, fixed(100 * p.load, 2), p.state, fixed(p.wakeUpsPerS, 2), p.pipelines.join(', ') || '-']);
  out.push(...table(['processor', 'load %', 'state', 'wake-ups/s', 'used by'], procRows, [false, true, false, true, false]));
  out.push('');
  const m = c.averagePowerByCauseMw;
  out.push(`average power          ${formatNumber(c.averagePowerMw)} mW: sampling ${formatNumber(m.sampling)}, compute ${formatNumber(m.compute)}, transfers ${formatNumber(m.transfers)}, wake-ups ${formatNumber(m.wakeUps)}, idle ${formatNumber(m.idle)}, sleep ${formatNumber(m.sleep)}, baseline ${formatNumber(m.baseline)}`);
  out.push(`battery life           ${c.batteryLifeHours !== undefined ? `${formatHours(c.batteryLifeHours)} (${formatNumber(c.batteryEnergyMwh!)} mWh)` : 'no battery on this device'}`);
  if (c.batteryPercentPerDay !== undefined) out.push(`battery per day        ${formatNumber(c.batteryPercentPerDay)}% (what the pipelines add: ${formatNumber(c.addedPowerMw)} mW)`);
  const worst = t.pipelines.reduce((a, p) => Math.max(a, p.worstLatencyMs - p.endToEndLatencyMs), 0);
  out.push(`contention             a window waits at most ${formatMs(worst)} for the others' work on a shared processor`);
  return out;
}

/**
 * Estimates `pipelines` together and writes the report to `ctx`; returns the exit code (1 when
 * some pipeline's estimate has errors or a processor is overloaded, else 0). Pipelines on
 * different devices are a {@link UsageError}.
 */
export function runTogether(pipelines: readonly PreparedPipeline[], json: boolean, ctx: CommandContext): number {
  let t: TogetherEstimate;
  try {
    t = estimateTogether(
      pipelines.map((p) => p.spec),
      pipelines.map((p) => p.options),
    );
  } catch (e) {
    if (e instanceof TogetherError) throw new UsageError(`${pipelines.map((p) => p.file).join(', ')}: ${e.message}.`);
    throw e;
  }
  if (json) ctx.out(JSON.stringify(togetherJson(t, pipelines.map((p) => p.file)), null, 2));
  else for (const line of togetherText(t)) ctx.out(line);
  t.estimates.forEach((e, i) => {
    for (const issue of e.issues) ctx.err(`${pipelines[i].file}: ${issue.severity} ${issue.code}: ${issue.message}`);
  });
  for (const o of t.combined.overloaded) ctx.err(`warning: ${o}`);
  const errors = t.estimates.some((e) => e.issues.some((i) => i.severity === 'error'));
  return errors || t.combined.overloaded.length > 0 ? 1 : 0;
}
