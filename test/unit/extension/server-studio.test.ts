/**
 * The studio's requests in the language server (extension/server/studio.ts), driven as the
 * server drives them: services with the measured-profile estimator, documents at LSP
 * versions, heavy jobs in the real worker pool running the bundled worker. Checked: the
 * view state is the one the extension host's own analysis built (behaviour unchanged), a
 * request for an older version is refused with ContentModified and one for a version not
 * built yet waits for it, hostile parameters are refused by zod and by the layer's bounds,
 * the preview's SVD error is the Eckart–Young tail of the spectrum (computed here from the
 * returned singular values), edits apply to the version they name, and a cancelled K-SVD
 * stops its worker while the pool keeps serving.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { DocumentState, URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CancellationTokenSource, ErrorCodes, LSPErrorCodes } from 'vscode-languageserver/node';
import { engineEstimator } from '../../../engine/estimate';
import { partitionPipeline } from '../../../engine/partition/partition';
import { applyEdits } from '../../../engine/source-edits';
import { MeasuredProfiles } from '../../../extension/server/device-profiles';
import { StudioRequests } from '../../../extension/server/studio';
import { WorkerPool } from '../../../extension/server/worker-pool';
import { buildViewState } from '../../../extension/graph-model';
import { TestAnalyzer } from './analysis';
import { BUILTIN_DEVICES_SOURCE } from '../../../language/builtin-devices';
import { createSenseServices } from '../../../language/sense-module';
import { refusal } from '../../support/refusal';

const root = resolve(import.meta.dirname, '../../..');
const deepear = readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8');

let work: string;
let uri: string;
let pool: WorkerPool;
let services: ReturnType<typeof createSenseServices>;
let studio: StudioRequests;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-server-studio-'));
  writeFileSync(join(work, 'deepear.sense'), deepear);
  copyFileSync(join(root, 'samples/deepear/deepear.safetensors'), join(work, 'deepear.safetensors'));
  uri = URI.file(join(work, 'deepear.sense')).toString();
  // The worker is bundled as esbuild.mjs bundles dist/analysis-worker.cjs.
  const script = join(work, 'analysis-worker.cjs');
  await build({ entryPoints: [join(root, 'extension/server/analysis-worker.ts')], outfile: script, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error' });
  pool = new WorkerPool(script, 2);
  const profiles = new MeasuredProfiles();
  // As extension/server/main.ts composes them.
  services = createSenseServices({ ...NodeFileSystem }, { fileExists: (path) => existsSync(path), estimator: profiles.estimator(engineEstimator) });
  studio = new StudioRequests({ services, profiles, jobs: pool });
}, 60_000);

afterAll(async () => {
  await pool?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Puts `text` at `version` into the server's workspace, as a didChange does, and builds it. */
async function open(text: string, version: number, at = uri): Promise<void> {
  const { workspace } = services.shared;
  const parsed = URI.parse(at);
  if (workspace.LangiumDocuments.hasDocument(parsed)) workspace.LangiumDocuments.deleteDocument(parsed);
  const doc = workspace.LangiumDocumentFactory.fromTextDocument(TextDocument.create(at, 'sense', version, text));
  workspace.LangiumDocuments.addDocument(doc);
  // The built-in devices document is built with the first one, as buildDocument does.
  await workspace.DocumentBuilder.build(workspace.LangiumDocuments.all.filter((d) => d.state < DocumentState.Validated).toArray(), { validation: true });
}


const doc = (version: number) => ({ uri, version });

describe('senseStudio/viewState and estimate', () => {
  it('serve the view state the extension host built, at the version asked for', async () => {
    await open(deepear, 3);
    const r = await studio.viewState({ textDocument: doc(3) });
    expect(r.version).toBe(3);
    // The reference: the language services and engine composed in process (./analysis.ts) and graph-model's buildViewState.
    const a = await new TestAnalyzer().analyse(deepear, uri);
    const p = a.pipelines[0];
    const reference = buildViewState({ spec: p.spec!, estimate: p.estimate!, documentVersion: 3, diagnostics: a.diagnostics });
    expect(r.state).toEqual(reference);
    const e = await studio.estimate({ textDocument: doc(3) });
    expect(e.pipelines.map((x) => x.name)).toEqual(['DeepEar']);
    expect(e.pipelines[0].totals!.endToEndLatencyMs).toBe(reference.totals.endToEndLatencyMs);
    expect(e.pipelines[0].processors!.map((x) => x.name).sort()).toEqual(['cpu', 'dsp', 'gpu']);
  });

  it('refuses an older version with ContentModified and waits for one not built yet', async () => {
    await open(deepear, 4);
    const stale = await refusal(studio.viewState({ textDocument: doc(3) }));
    expect(stale.code).toBe(LSPErrorCodes.ContentModified);
    expect(stale.message).toMatch(/version 3 .* now at version 4/);
    const pending = studio.viewState({ textDocument: doc(5) });
    await new Promise((r) => setTimeout(r, 50));
    await open(deepear.replace('dense 128 relu', 'dense 96 relu'), 5);
    const r = await pending;
    expect(r.version).toBe(5);
    expect(r.state!.layers.find((l) => l.id === 'ambient.1')!.outputShape).toEqual([96]);
  });

  it('refuses malformed parameters naming the field', async () => {
    const e = await refusal(studio.viewState({ textDocument: { uri, version: -1 } }));
    expect(e.code).toBe(ErrorCodes.InvalidParams);
    expect(e.message).toMatch(/textDocument\.version/);
    expect((await refusal(studio.viewState({ textDocument: doc(5), extra: 1 }))).code).toBe(ErrorCodes.InvalidParams);
  });
});

describe('senseStudio/compressionPreview and layerSpectrum', () => {
  it('previews an SVD rank with the Eckart–Young error of the returned spectrum, computed in a worker', async () => {
    await open(deepear, 10);
    const s = await studio.layerSpectrum({ textDocument: doc(10), layerId: 'ambient.1' });
    const rank = 16;
    const p = await studio.compressionPreview({ textDocument: doc(10), layerId: 'ambient.1', method: { kind: 'svd', criterion: 'rank', rank } });
    const sq = s.singularValues.map((x) => x * x);
    const tail = sq.slice(rank).reduce((a, b) => a + b, 0);
    const all = sq.reduce((a, b) => a + b, 0);
    expect(p.estimatedError).toBeCloseTo(Math.sqrt(tail / all), 10);
    expect(p.version).toBe(10);
    expect(p.after.params).toBeLessThan(p.before.params);
  });

  it('refuses hostile requests: a million atoms, a rank beyond the matrix, an unknown key', async () => {
    await open(deepear, 11);
    const million = await refusal(studio.compressionPreview({ textDocument: doc(11), layerId: 'ambient.1', method: { kind: 'sparse', atoms: 1_000_000, nonzeros: 8 } }));
    expect(million.code).toBe(ErrorCodes.InvalidParams);
    const s = await studio.layerSpectrum({ textDocument: doc(11), layerId: 'ambient.1' });
    const [rows, cols] = s.matrixShape;
    const rank = await refusal(studio.compressionPreview({ textDocument: doc(11), layerId: 'ambient.1', method: { kind: 'svd', criterion: 'rank', rank: Math.min(rows, cols) + 1 } }));
    expect(rank.message).toMatch(new RegExp(`at most ${Math.min(rows, cols)}`));
    const atoms = await refusal(studio.compressionPreview({ textDocument: doc(11), layerId: 'ambient.1', method: { kind: 'sparse', atoms: 4 * Math.max(rows, cols) + 1, nonzeros: 8 } }));
    expect(atoms.message).toMatch(new RegExp(`at most ${4 * Math.max(rows, cols)}`));
    const extra = await refusal(studio.compressionPreview({ textDocument: doc(11), layerId: 'ambient.1', method: { kind: 'int8', bits: 4 } }));
    expect(extra.code).toBe(ErrorCodes.InvalidParams);
    const notLayer = await refusal(studio.compressionPreview({ textDocument: doc(11), layerId: 'ambient.9', method: { kind: 'int8' } }));
    expect(notLayer.message).toMatch(/no layer ambient\.9/);
  });

  it('a cancelled K-SVD stops its worker and the pool keeps serving', async () => {
    await open(deepear, 12);
    const source = new CancellationTokenSource();
    let started = 0;
    const workers = pool.workersStarted;
    const running = studio.compressionPreview({ textDocument: doc(12), layerId: 'encoder.3', method: { kind: 'sparse', atoms: 1024, nonzeros: 64 } }, source.token, {
      report: () => {
        started++;
        source.cancel();
      },
    });
    const e = await refusal(running);
    expect(e.code).toBe(LSPErrorCodes.RequestCancelled);
    expect(started).toBeGreaterThan(0);
    // The worker running the K-SVD was terminated: the pool is idle, and the next job starts a fresh worker.
    expect(pool.running).toBe(0);
    const after = await studio.compressionPreview({ textDocument: doc(12), layerId: 'ambient.1', method: { kind: 'int8' } });
    expect(after.estimatedError).toBeGreaterThan(0);
    expect(after.estimatedError).toBeLessThan(0.05);
    expect(pool.workersStarted).toBeGreaterThan(workers);
  });
});

describe('senseStudio/sourceEdit, partitionPlan and compressionPlan', () => {
  it('returns edits for the version asked for, and refuses a stale one', async () => {
    await open(deepear, 20);
    const r = await studio.sourceEdit({ textDocument: doc(20), edit: { kind: 'compress', layerId: 'ambient.1', method: { kind: 'svd', criterion: 'rank', rank: 32 } } });
    expect(r.version).toBe(20);
    const next = applyEdits(deepear, r.edits);
    expect(next).toContain('compress ambient.1 svd rank 32');
    await open(next, 21);
    expect((await refusal(studio.sourceEdit({ textDocument: doc(20), edit: { kind: 'removeCompression', layerId: 'ambient.1' } }))).code).toBe(LSPErrorCodes.ContentModified);
    const removed = await studio.sourceEdit({ textDocument: doc(21), edit: { kind: 'removeCompression', layerId: 'ambient.1' } });
    expect(applyEdits(next, removed.edits)).toBe(deepear);
    const bad = await refusal(studio.sourceEdit({ textDocument: doc(21), edit: { kind: 'place', targets: ['encoder'], processor: 'npu' } }));
    expect(bad.message).toMatch(/no processor 'npu'/);
    // What the inspector can never ask is refused, nothing written: a layer without weights, a rank beyond ambient.1's 128 x 256 matrix.
    const svd = (rank: number) => ({ kind: 'svd' as const, criterion: 'rank' as const, rank });
    const flatten = await refusal(studio.sourceEdit({ textDocument: doc(21), edit: { kind: 'compress', layerId: 'encoder.1', method: svd(8) } }));
    expect(flatten.message).toBe('senseStudio/sourceEdit: encoder.1 is a flatten layer; only dense, conv1d and conv2d layers have weights to compress.');
    const beyond = await refusal(studio.sourceEdit({ textDocument: doc(21), edit: { kind: 'compress', layerId: 'ambient.1', method: svd(129) } }));
    expect(beyond.message).toBe("senseStudio/sourceEdit: rank 129 exceeds ambient.1's weight matrix (128 x 256); the rank is at most 128.");
    expect(applyEdits(next, (await studio.sourceEdit({ textDocument: doc(21), edit: { kind: 'compress', layerId: 'ambient.1', method: svd(128) } })).edits)).toContain('compress ambient.1 svd rank 128');
  });

  it('plans Auto-Partition in a worker as the engine does in process, with edits that write its place lines', async () => {
    await open(deepear, 30);
    const progress: string[] = [];
    const plan = await studio.partitionPlan({ textDocument: doc(30), optimize: { energyWeight: 1, latencyWeight: 0 } }, undefined, { report: (m) => progress.push(m) });
    expect(progress.length).toBeGreaterThan(0);
    const a = await new TestAnalyzer().analyse(deepear, uri);
    const reference = partitionPipeline(a.pipelines[0].spec!, { optimize: { energyWeight: 1, latencyWeight: 0 } });
    expect(plan.result.placement).toEqual(reference.placement);
    expect(plan.result.objective).toBe(reference.objective);
    const next = applyEdits(deepear, plan.edits);
    for (const s of plan.statements) expect(next).toContain(`  ${s}\n`);
    await open(next, 31);
    const after = await studio.estimate({ textDocument: doc(31) });
    expect(after.pipelines[0].totals!.energyPerInferenceMj).toBeCloseTo(plan.after.energyPerInferenceMj, 9);
    // The settings' weights apply only to a pipeline without an `optimize` line: DeepEar's line wins, and without it the settings do.
    const lined = await studio.partitionPlan({ textDocument: doc(31), defaultOptimize: { energyWeight: 1, latencyWeight: 0 } });
    expect(lined.result.optimize).toMatchObject({ energyWeight: 0.7, latencyWeight: 0.3 });
    await open(next.replace(/\n\s*optimize [^\n]*/, ''), 32);
    const unlined = await studio.partitionPlan({ textDocument: doc(32), defaultOptimize: { energyWeight: 1, latencyWeight: 0 } });
    expect(unlined.result.optimize).toMatchObject({ energyWeight: 1, latencyWeight: 0 });
  });

  it('plans Auto-Compress from the weights and refuses a processor the target lacks', async () => {
    await open(deepear, 40);
    const now = (await studio.estimate({ textDocument: doc(40) })).pipelines[0].totals!.endToEndLatencyMs;
    const plan = await studio.compressionPlan({ textDocument: doc(40), target: { kind: 'within', latencyMs: now * 0.9 } });
    expect(plan.fromWeights).toBe(true);
    if (plan.result.feasible) {
      const next = applyEdits(deepear, plan.edits);
      for (const line of plan.result.lines) expect(next).toContain(line);
    } else expect(plan.edits).toEqual([]);
    const bad = await refusal(studio.compressionPlan({ textDocument: doc(40), target: { kind: 'fit', processor: 'npu' } }));
    expect(bad.message).toMatch(/no processor 'npu'; it has/);
  });
});

describe('senseStudio/deviceNames and pipelineSpec', () => {
  it('lists the built-in devices and the document\'s own, with the target now', async () => {
    const own = `device bench {\n  processor cpu { compute 1 GMAC/s  memory 64 MB  bandwidth 1 GB/s  power 500 mW }\n}\n${deepear}`;
    await open(own, 50);
    const r = await studio.deviceNames({ textDocument: doc(50) });
    expect(r.version).toBe(50);
    expect(r.pipeline).toBe('DeepEar');
    expect(r.currentTarget).toBe('snapdragon800');
    // The built-ins as the catalog's source declares them, independently of the workspace.
    const builtins = [...BUILTIN_DEVICES_SOURCE.matchAll(/^device (\w+) \{/gm)].map((m) => m[1]);
    expect(builtins.length).toBeGreaterThan(3);
    expect(r.devices.filter((d) => d.builtin).map((d) => d.name).sort()).toEqual([...builtins].sort());
    expect(r.devices.filter((d) => !d.builtin)).toEqual([{ name: 'bench', builtin: false }]);
  });

  it('serves the checked spec (plain data, unchanged by JSON) and refuses one with errors unless allowed', async () => {
    await open(deepear, 60);
    const r = await studio.pipelineSpec({ textDocument: doc(60) });
    const reference = (await new TestAnalyzer().analyse(deepear, uri)).pipelines[0].spec!;
    expect(r.spec).toEqual(reference);
    // It crosses the LSP connection as JSON: nothing may be lost on the way (no Map, no Infinity, no typed array).
    expect(JSON.parse(JSON.stringify(r.spec))).toEqual(r.spec);
    const broken = deepear.replace('place emotion, speaker on cpu', 'place emotion, speaker on npu');
    expect(broken).not.toBe(deepear);
    await open(broken, 61);
    const refused = await refusal(studio.pipelineSpec({ textDocument: doc(61) }));
    expect(refused.code).toBe(LSPErrorCodes.RequestFailed);
    expect(refused.message).toMatch(/has errors/);
    expect((await studio.pipelineSpec({ textDocument: doc(61), allowErrors: true })).spec.name).toBe('DeepEar');
  });

  it('retargets the pipeline to host for Calibrate Host, its place lines dropped, without touching the document', async () => {
    await open(deepear, 70);
    const r = await studio.pipelineSpec({ textDocument: doc(70), retargetToHost: true });
    expect(r.spec.target.name).toBe('host');
    expect(r.spec.placement).toEqual({});
    // The reference: the text retargeted by hand, lowered in process.
    const byHand = deepear.replace('target snapdragon800', 'target host').split('\n').filter((l) => !/^\s*place\b/.test(l)).join('\n');
    const reference = (await new TestAnalyzer().analyse(byHand, `${uri}.by-hand.sense`)).pipelines[0].spec!;
    expect(r.spec.blocks.flatMap((b) => b.layers.map((l) => [l.id, l.params, l.macs]))).toEqual(reference.blocks.flatMap((b) => b.layers.map((l) => [l.id, l.params, l.macs])));
    expect(r.spec.target).toEqual(reference.target);
    // The server's own document is still the one the editor holds.
    expect((await studio.pipelineSpec({ textDocument: doc(70) })).spec.target.name).toBe('snapdragon800');
  });
});
