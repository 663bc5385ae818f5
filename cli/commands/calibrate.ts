/**
 * `sense calibrate FILE [--device host] [--runs N] [--out PROFILE.json] [--json]`: measures
 * every layer of the pipeline on this machine with ONNX Runtime's profiler, fits the
 * device's default processor (engine/calibrate/fit.ts), prints estimated-versus-measured
 * latency per layer and end to end before and after, and writes the measured device
 * profile that `sense estimate --profile` and the studio import.
 *
 * `--from PROFILE.json` fits a timings-only profile instead (the bundle page's Profile
 * button, run on a phone or in a browser): its per-partition and front-end timings get
 * their MACs and bytes from this pipeline's IR on the profile's device.
 */
import { existsSync, readFileSync } from 'node:fs';
import { initWeights } from '../../engine/weights/init';
import { loadPipelineWeights, weightsPathFor, writeFileAtomic } from '../../engine/weights/node-weights';
import { calibratePipeline, type CalibrationResult } from '../../engine/calibrate/node-calibrate';
import { fitTimingsProfile } from '../../engine/calibrate/timings';
import { formatDeviceProfile, parseDeviceProfile, type DeviceProfile } from '../../engine/calibrate/profile';
import { calibrationTable, ms } from '../../engine/calibrate/report';
import { loadPipeline, UsageError } from '../load';
import type { CommandContext } from '../main';
import { findDevice, retarget } from './estimate';
import { flagValue, loadOrtNode, positionals } from './run';

export const summary = 'measure every layer on this machine (ONNX Runtime profiler), fit the host processor and write a measured device profile';
export const usage = 'sense calibrate FILE [--device host] [--runs N] [--out PROFILE.json] [--json] [--pipeline NAME] [--from TIMINGS.json]';

function printResult(r: Pick<CalibrationResult, 'profile' | 'rows' | 'endToEnd'>, ctx: CommandContext): void {
  for (const line of calibrationTable(r)) ctx.out(line);
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const valued = ['--device', '--runs', '--out', '--pipeline', '--from'];
  const known = new Set([...valued, '--json']);
  for (const a of args) if (a.startsWith('-') && !known.has(a)) throw new UsageError(`unknown option '${a}'; usage: ${usage}`);
  const [file, extra] = positionals(args, valued);
  if (!file || extra) throw new UsageError(`usage: ${usage}`);
  const runsText = flagValue(args, '--runs');
  const runs = runsText === undefined ? 30 : Number(runsText);
  if (!Number.isSafeInteger(runs) || runs < 3 || runs > 100_000) throw new UsageError(`--runs takes an integer from 3 to 100000, got '${runsText}'`);
  const out = flagValue(args, '--out');
  const from = flagValue(args, '--from');
  const { file: loaded, spec: own } = await loadPipeline(file, flagValue(args, '--pipeline'));
  const notes: string[] = [];

  if (from !== undefined) {
    if (!existsSync(from)) throw new UsageError(`${from}: no such profile file`);
    let timings: DeviceProfile;
    try {
      timings = parseDeviceProfile(readFileSync(from, 'utf8'), from);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const device = flagValue(args, '--device') ?? timings.device;
    const spec = device === own.target.name ? own : retarget(own, findDevice(loaded, device), notes);
    for (const n of notes) ctx.err(`note: ${n}`);
    let result: ReturnType<typeof fitTimingsProfile>;
    try {
      result = fitTimingsProfile(spec, timings, from);
    } catch (e) {
      throw new UsageError((e as Error).message, 1);
    }
    if (args.includes('--json')) ctx.out(formatDeviceProfile(result.profile).trimEnd());
    else printResult(result, ctx);
    if (out) {
      writeFileAtomic(out, formatDeviceProfile(result.profile));
      ctx.err(`wrote ${out}`);
    }
    return 0;
  }

  const spec = retarget(own, findDevice(loaded, flagValue(args, '--device') ?? 'host'), notes);
  for (const n of notes) ctx.err(`note: ${n}`);
  let weights;
  if (weightsPathFor(own, file) && existsSync(weightsPathFor(own, file)!)) {
    try {
      const w = loadPipelineWeights(own, file);
      for (const warning of w.warnings) ctx.err(`warning: ${warning}`);
      weights = w.weights;
    } catch (e) {
      throw new UsageError((e as Error).message, 1);
    }
  } else {
    // Timing does not depend on the weights' values: seeded ones stand in for missing weights.
    ctx.err(`note: ${file} has no weights file; measuring with seeded initial weights`);
    weights = initWeights(own, 1);
  }
  const ort = await loadOrtNode();
  const version = (ort as unknown as { env?: { versions?: { node?: string } } }).env?.versions?.node;
  let result: CalibrationResult;
  try {
    result = await calibratePipeline(spec, weights, { ort, runtime: `onnxruntime-node${version ? ` ${version}` : ''}`, runs, onProgress: (l) => ctx.err(l) });
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
  }
  if (args.includes('--json')) ctx.out(formatDeviceProfile(result.profile).trimEnd());
  else {
    printResult(result, ctx);
    ctx.out(`measured end to end is CPU time (the front end too; layers are ONNX Runtime's kernel times); wall time ${ms(result.windowWallMs)} ms per window, session.run ${ms(result.sessionRunMs)} ms, kernels ${ms(result.kernelMs)} ms (medians)`);
    if (!result.fit.computeIdentified) ctx.out('note: no layer was compute-bound, so compute is a lower bound');
    if (!result.fit.bandwidthIdentified) ctx.out('note: no layer was memory-bound, so bandwidth is a lower bound');
    if (result.outliers.length > 0) ctx.out(`note: ${result.outliers.length} sample(s) rejected as outliers: ${result.outliers.join(', ')}`);
    if (result.frontendFit && !result.frontendFit.identified) ctx.out('note: the front end is explained by overhead and memory traffic alone, so its throughput is a lower bound');
  }
  if (out) {
    writeFileAtomic(out, formatDeviceProfile(result.profile));
    ctx.err(`wrote ${out}`);
  }
  return 0;
}
