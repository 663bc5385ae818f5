/**
 * `sense calibrate --device host [--quick] [--out PROFILE.json] [--json]` (no FILE): calibrates
 * the device, not a pipeline: runs the kernel suite (engine/calibrate/node-kernel-suite.ts)
 * and writes a profile whose kernel predictor prices any pipeline on `host`.
 *
 * `sense calibrate --device NAME --page DIR [--quick]`: writes the same suite as a page
 * (engine/calibrate/node-calibrate-page.ts) that runs in the device's own browser with
 * onnxruntime-web and offers the fitted profile of NAME as a download.
 *
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
import { initWeights } from '../../engine/weights/init';
import { weightsPathFor } from '../../engine/weights/node-weights';
import { isUserFileError, readUserTextSync, statUserPath, writeUserFileAtomic } from '../../io/user-files';
import { calibratePipeline, type CalibrationResult } from '../../engine/calibrate/node-calibrate';
import { fitTimingsProfile } from '../../engine/calibrate/timings';
import { formatDeviceProfile, parseDeviceProfile, type DeviceProfile } from '../../runtime/device-profile';
import { calibrationTable, kernelSuiteTable, ms } from '../../engine/calibrate/report';
import { expectPositionals, integerFlag, parseCommandArgs } from '../args';
import { choosePipeline, loadPipeline, lowerSenseText, namingError, pipelineWeights, UsageError } from '../load';
import { runKernelSuite, type KernelSuiteResult } from '../../engine/calibrate/node-kernel-suite';
import type { PipelineSpec } from '../../language/pipeline-model';
import type { CommandContext } from '../main';
import { findDevice, retarget } from './estimate';
import { loadOrtNode } from '../../runtime/node-ort';
import { planKernelSuite, type SuitePlan } from '../../engine/calibrate/web-kernel-suite';
import { writeCalibratePage } from '../../engine/calibrate/node-calibrate-page';

export const summary = 'measure a kernel suite (or every layer of one pipeline) on this machine, fit the host processor and write a measured device profile';
export const usage = 'sense calibrate --device host [--quick] [--runs N] [--out PROFILE.json] [--json]  |  sense calibrate --device NAME --page DIR [--quick]  |  sense calibrate FILE [--device host] [--runs N] [--out PROFILE.json] [--json] [--pipeline NAME] [--from TIMINGS.json]';

function printResult(r: Pick<CalibrationResult, 'profile' | 'rows' | 'endToEnd'>, ctx: CommandContext): void {
  for (const line of calibrationTable(r)) ctx.out(line);
}

/** Runs the command; returns the exit code. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { device: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, pipeline: { type: 'string' }, from: { type: 'string' }, quick: { type: 'boolean' }, page: { type: 'string' } },
    usage,
  );
  expectPositionals(positionals, 0, 1, 'one .sense file, or none with --device host', usage);
  if (positionals.length === 0) return runSuite(values, ctx);
  if (values.page !== undefined) throw new UsageError(`--page writes the kernel suite page for a device (sense calibrate --device NAME --page DIR), not for one pipeline\nusage: ${usage}`);
  if (values.quick) throw new UsageError(`--quick belongs to the kernel suite (sense calibrate --device host --quick), not to calibrating one pipeline\nusage: ${usage}`);
  const [file] = positionals;
  const runs = integerFlag('--runs', values.runs, 30, 3, 100_000, 'an integer from 3 to 100000');
  const { out, from } = values;
  const { file: loaded, spec: own } = await loadPipeline(file, values.pipeline);
  const notes: string[] = [];

  if (from !== undefined) {
    let timings: DeviceProfile;
    try {
      timings = parseDeviceProfile(readUserTextSync(from, 'profile'), from);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const device = values.device ?? timings.device;
    const spec = device === own.target.name ? own : retarget(own, findDevice(loaded, device), notes);
    for (const n of notes) ctx.err(`note: ${n}`);
    let result: ReturnType<typeof fitTimingsProfile>;
    try {
      result = fitTimingsProfile(spec, timings, from);
    } catch (e) {
      throw new UsageError((e as Error).message, 1);
    }
    if (values.json) ctx.out(formatDeviceProfile(result.profile).trimEnd());
    else printResult(result, ctx);
    if (out) writeProfile(out, result.profile, ctx);
    return 0;
  }

  const spec = retarget(own, findDevice(loaded, values.device ?? 'host'), notes);
  for (const n of notes) ctx.err(`note: ${n}`);
  let weights;
  const weightsPath = weightsPathFor(own, file);
  if (weightsPath && weightsPresent(weightsPath)) {
    weights = pipelineWeights(own, file, ctx.err).weights;
  } else {
    // Timing does not depend on the weights' values: seeded ones stand in for missing weights.
    ctx.err(`note: ${file} has no weights file; measuring with seeded initial weights`);
    weights = initWeights(own, 1);
  }
  const { ort, runtime } = await loadOrtNode([], 'sense calibrate');
  let result: CalibrationResult;
  try {
    result = await calibratePipeline(spec, weights, { ort, runtime, runs, onProgress: (l) => ctx.err(l) });
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
  }
  if (values.json) ctx.out(formatDeviceProfile(result.profile).trimEnd());
  else {
    printResult(result, ctx);
    ctx.out(`measured end to end is CPU time (the front end too; layers are ONNX Runtime's kernel times); wall time ${ms(result.windowWallMs)} ms per window, session.run ${ms(result.sessionRunMs)} ms, kernels ${ms(result.kernelMs)} ms (medians)`);
    if (!result.fit.computeIdentified) ctx.out('note: no layer was compute-bound, so compute is a lower bound');
    if (!result.fit.bandwidthIdentified) ctx.out('note: no layer was memory-bound, so bandwidth is a lower bound');
    if (result.outliers.length > 0) ctx.out(`note: ${result.outliers.length} sample(s) rejected as outliers: ${result.outliers.join(', ')}`);
    if (result.frontendFit && !result.frontendFit.identified) ctx.out('note: the front end is explained by overhead and memory traffic alone, so its throughput is a lower bound');
  }
  if (out) writeProfile(out, result.profile, ctx);
  return 0;
}

/** `sense calibrate --device host`: the kernel suite (see the module header). */
async function runSuite(values: { device?: string; runs?: string; out?: string; json?: boolean; pipeline?: string; from?: string; quick?: boolean; page?: string }, ctx: CommandContext): Promise<number> {
  if (values.device === undefined) throw new UsageError(`name the device to calibrate (--device host) or a .sense file\nusage: ${usage}`);
  if (values.page !== undefined) return writePage(values.page, values.device, values, ctx);
  if (values.device !== 'host') throw new UsageError(`the kernel suite measures this machine, so it calibrates device 'host', not '${values.device}'; for a phone or a watch write the suite's page with --page DIR and open it in the device's browser\nusage: ${usage}`);
  if (values.pipeline !== undefined || values.from !== undefined) throw new UsageError(`--pipeline and --from need a .sense file\nusage: ${usage}`);
  const runs = values.runs === undefined ? undefined : integerFlag('--runs', values.runs, 40, 3, 100_000, 'an integer from 3 to 100000');
  const { ort, runtime } = await loadOrtNode([], 'sense calibrate');
  let result: KernelSuiteResult;
  try {
    result = await runKernelSuite({ ort, runtime, lower: lowerSuitePipeline, quick: values.quick ?? false, ...(runs !== undefined ? { runs } : {}), onProgress: (l) => ctx.err(l) });
  } catch (e) {
    throw new UsageError((e as Error).message, 1);
  }
  if (values.json) ctx.out(formatDeviceProfile(result.profile).trimEnd());
  else for (const line of kernelSuiteTable(result)) ctx.out(line);
  if (values.out) writeProfile(values.out, result.profile, ctx);
  return 0;
}

/** Suite pipelines are lowered as if they were a file here; nothing is written there. */
async function lowerSuitePipeline(text: string, name: string): Promise<PipelineSpec> {
  return choosePipeline(await lowerSenseText(`kernel suite ${name}.sense`, text)).spec;
}

/** `sense calibrate --device NAME --page DIR`: writes the kernel suite page for the device's browser. */
async function writePage(dir: string, device: string, values: { runs?: string; out?: string; json?: boolean; pipeline?: string; from?: string; quick?: boolean }, ctx: CommandContext): Promise<number> {
  if (values.out !== undefined || values.json || values.runs !== undefined) throw new UsageError(`--page writes a page that measures in the device's browser; --out, --json and --runs belong to measuring this machine\nusage: ${usage}`);
  if (values.pipeline !== undefined || values.from !== undefined) throw new UsageError(`--pipeline and --from need a .sense file\nusage: ${usage}`);
  let plan: SuitePlan;
  try {
    plan = await planKernelSuite(lowerSuitePipeline, device, values.quick ?? false);
  } catch (e) {
    // An unknown device fails the first pipeline's lowering, whose message lists the devices there are.
    throw new UsageError(`cannot write the kernel suite page for device '${device}': ${(e as Error).message}`);
  }
  try {
    writeCalibratePage(dir, plan);
  } catch (e) {
    throw namingError(e, [dir], 1);
  }
  ctx.err(`wrote ${dir}: the kernel suite page for ${device} (${plan.cases.length} cases${plan.quick ? ', quick' : ''})`);
  ctx.out(`Serve it on your network and open it in ${device}'s browser:`);
  ctx.out(`  python3 -m http.server --directory '${dir.replace(/'/g, `'\\''`)}' 8000    (then http://THIS-COMPUTER:8000/ on the device)`);
  ctx.out('Press Start, then import the downloaded profile: Sense: Import Device Profile, or sense estimate FILE --profile PROFILE.json');
  return 0;
}

/** Writes the measured profile to `path` (typed with --out, so not confined) and says so. */
function writeProfile(path: string, profile: DeviceProfile, ctx: CommandContext): void {
  try {
    writeUserFileAtomic(path, formatDeviceProfile(profile), 'profile');
  } catch (e) {
    throw namingError(e, [path], 1);
  }
  ctx.err(`wrote ${path}`);
}

/**
 * True when something is at the weights path (links followed); a loop is an error naming it.
 * Anything there that is not usable weights is reported by reading it, not measured around.
 */
function weightsPresent(path: string): boolean {
  try {
    return statUserPath(path, 'weights') !== undefined;
  } catch (e) {
    if (isUserFileError(e)) throw new UsageError(e.message, 1);
    throw e;
  }
}
