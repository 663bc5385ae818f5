/**
 * Compare with HEAD / with File in the language server (extension/server/studio.ts
 * `senseStudio/compare`): in a temporary git repository the DeepEar sample is committed, a
 * `compress` line is added in the editor's text, and the server's deltas must equal what
 * `sense diff --json git:HEAD:PATH PATH` prints for the same pair (layers, processors,
 * totals), the compressed layer's parameter change also by hand (the SVD factors counted).
 * The graph's overlay (extension/comparison.ts) must list exactly the changed layers and pass
 * the webview protocol's schema. A file outside git, a file never committed, a document not on
 * disk and a broken file to compare with are refused with a message naming the file.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DocumentState, URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { PipelineDiff } from '../../../engine/diff';
import { engineEstimator } from '../../../engine/estimate';
import { comparisonView } from '../../../extension/comparison';
import { MeasuredProfiles } from '../../../extension/server/device-profiles';
import { StudioRequests } from '../../../extension/server/studio';
import type { JobRunner } from '../../../extension/server/worker-pool';
import { createSenseServices } from '../../../language/sense-module';
import { ComparisonViewSchema } from '../../../webview/protocol';
import { sense } from '../../support/sense-cli';
import { refusal as refusalError } from '../../support/refusal';

const root = resolve(import.meta.dirname, '../../..');
const SAMPLE = readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8');
const PLACE = '  place encoder, ambient, stress on dsp\n';

function withCompress(line: string): string {
  if (!SAMPLE.includes(PLACE)) throw new Error('the sample has no place line to write before');
  return SAMPLE.replace(PLACE, `  ${line}\n${PLACE}`);
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
}

/** Compare needs no worker job; a request that asked for one would be a bug, so the runner fails loudly. */
const noJobs: JobRunner = {
  run: () => Promise.reject(new Error('compare must not run a worker job')),
};

const dirs: string[] = [];
let services: ReturnType<typeof createSenseServices>;
let studio: StudioRequests;
let repo: string;
let path: string;

beforeAll(() => {
  const profiles = new MeasuredProfiles();
  // As extension/server/main.ts composes them.
  services = createSenseServices({ ...NodeFileSystem }, { fileExists: (p) => existsSync(p), estimator: profiles.estimator(engineEstimator) });
  studio = new StudioRequests({ services, profiles, jobs: noJobs, fileExists: (p) => existsSync(p) });
  repo = mkdtempSync(join(tmpdir(), 'sense-compare-git-'));
  dirs.push(repo);
  git(repo, 'init', '-q');
  path = join(repo, 'deepear.sense');
  writeFileSync(path, SAMPLE);
  copyFileSync(join(root, 'samples/deepear/deepear.safetensors'), join(repo, 'deepear.safetensors'));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'v1');
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Puts `text` at `version` into the server's workspace, as a didChange does, and builds it. */
async function open(text: string, version: number, at: string): Promise<void> {
  const { workspace } = services.shared;
  const parsed = URI.parse(at);
  if (workspace.LangiumDocuments.hasDocument(parsed)) workspace.LangiumDocuments.deleteDocument(parsed);
  workspace.LangiumDocuments.addDocument(workspace.LangiumDocumentFactory.fromTextDocument(TextDocument.create(at, 'sense', version, text)));
  await workspace.DocumentBuilder.build(workspace.LangiumDocuments.all.filter((d) => d.state < DocumentState.Validated).toArray(), { validation: true });
}

async function cliDiff(...args: string[]): Promise<PipelineDiff> {
  const r = await sense('diff', ...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as PipelineDiff;
}


/** The server's comparison equals the CLI's on every layer, processor and total. */
function expectSameAsCli(server: PipelineDiff, cli: PipelineDiff): void {
  expect(server.layers).toEqual(cli.layers);
  expect(server.processors).toEqual(cli.processors);
  expect(server.heads).toEqual(cli.heads);
  expect(server.total).toEqual(cli.total);
  expect(server.target).toEqual(cli.target);
}

describe('senseStudio/compare', () => {
  it('Compare with HEAD: the deltas of an edited compress line equal sense diff --json git:HEAD:PATH PATH', async () => {
    const edited = withCompress('compress encoder.2 svd rank 16');
    writeFileSync(path, edited);
    const uri = URI.file(path).toString();
    await open(edited, 1, uri);
    const r = await studio.compare({ textDocument: { uri, version: 1 }, against: { kind: 'head' } });
    expect(r.version).toBe(1);
    expect(r.against).toBe('deepear.sense at HEAD');
    expectSameAsCli(r.diff, await cliDiff(`git:HEAD:${path}`, path));

    const e2 = r.diff.layers.find((l) => l.id === 'encoder.2')!;
    expect(e2).toMatchObject({ status: 'changed', compressionChanged: true, moved: false });
    // dense 256 on 40 x 98 = 3920 inputs: W (3920 x 256) before, U (3920 x 16) + V (16 x 256) after; the bias is kept.
    expect(e2.paramsDelta).toBe(16 * (3920 + 256) - 3920 * 256);
    expect(r.diff.total.paramsDelta).toBe(e2.paramsDelta);
    expect(r.diff.total.energyPerInferenceMjDelta).toBeLessThan(0);

    // The overlay lists exactly the changed layers, with the engine's deltas, and passes the protocol.
    const view = comparisonView(r.diff, r.against);
    expect(ComparisonViewSchema.safeParse(view).success).toBe(true);
    expect(view.layers.map((l) => l.id)).toEqual(r.diff.layers.filter((l) => l.status !== 'same').map((l) => l.id));
    expect(view.layers.find((l) => l.id === 'encoder.2')).toMatchObject({ paramsDelta: e2.paramsDelta, macsDelta: e2.macsDelta, energyMjDelta: e2.energyMjDelta, latencyMsDelta: e2.latencyMsDelta });
    expect(view.unchangedLayers + view.layers.length).toBe(r.diff.layers.length);
    expect(view.total.energyPerInferenceMjDelta).toBe(r.diff.total.energyPerInferenceMjDelta);
  });

  it('Compare with File: the deltas against another .sense file equal sense diff --json OTHER PATH', async () => {
    const other = join(repo, 'rank32.sense');
    writeFileSync(other, withCompress('compress encoder.2 svd rank 32'));
    const edited = withCompress('compress encoder.2 svd rank 8');
    writeFileSync(path, edited);
    const uri = URI.file(path).toString();
    await open(edited, 2, uri);
    const r = await studio.compare({ textDocument: { uri, version: 2 }, against: { kind: 'file', uri: URI.file(other).toString() } });
    expect(r.against).toBe('rank32.sense');
    expectSameAsCli(r.diff, await cliDiff(other, path));
    expect(r.diff.layers.find((l) => l.id === 'encoder.2')!.paramsDelta).toBe((8 - 32) * (3920 + 256));
  });

  it('refuses a file outside git, one never committed, an untitled document and a broken file, naming them', async () => {
    const loose = mkdtempSync(join(tmpdir(), 'sense-compare-nogit-'));
    dirs.push(loose);
    const loosePath = join(loose, 'loose.sense');
    writeFileSync(loosePath, SAMPLE);
    await open(SAMPLE, 1, URI.file(loosePath).toString());
    expect(await refusal(studio.compare({ textDocument: { uri: URI.file(loosePath).toString(), version: 1 }, against: { kind: 'head' } }))).toMatch(
      /loose\.sense at HEAD: .* is not inside a git repository/,
    );

    const fresh = join(repo, 'fresh.sense');
    writeFileSync(fresh, SAMPLE);
    await open(SAMPLE, 1, URI.file(fresh).toString());
    expect(await refusal(studio.compare({ textDocument: { uri: URI.file(fresh).toString(), version: 1 }, against: { kind: 'head' } }))).toMatch(
      /fresh\.sense at HEAD: fresh\.sense does not exist at revision HEAD/,
    );

    await open(SAMPLE, 1, 'untitled:Untitled-1.sense');
    expect(await refusal(studio.compare({ textDocument: { uri: 'untitled:Untitled-1.sense', version: 1 }, against: { kind: 'head' } }))).toMatch(/is not a file on disk/);

    const broken = join(repo, 'broken.sense');
    writeFileSync(broken, SAMPLE.replace('dense 256', 'dense 256 nosuchactivation'));
    expect(await refusal(studio.compare({ textDocument: { uri: URI.file(fresh).toString(), version: 1 }, against: { kind: 'file', uri: URI.file(broken).toString() } }))).toMatch(
      /^senseStudio\/compare: broken\.sense:\d+:\d+: /,
    );
    expect(await refusal(studio.compare({ textDocument: { uri: URI.file(fresh).toString(), version: 1 }, against: { kind: 'file', uri: URI.file(join(repo, 'absent.sense')).toString() } }))).toMatch(
      /absent\.sense/,
    );
    expect(await refusal(studio.compare({ textDocument: { uri: URI.file(fresh).toString(), version: 1 }, against: { kind: 'nope' } }))).toMatch(/bad parameters \(against/);
  });
});

/** The message of the refusal (see test/support/refusal.ts). */
async function refusal(p: Promise<unknown>): Promise<string> {
  return (await refusalError(p)).message;
}
