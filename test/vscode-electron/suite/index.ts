/**
 * The scenarios of test/vscode/studio.test.ts inside desktop VS Code's extension host
 * (@vscode/test-electron): through the VS Code API rather than the UI. The workspace is a
 * temporary copy of samples/deepear with seeded weights (see ../run.ts).
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(f: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Entry called by @vscode/test-electron; throws on the first failed scenario. */
export async function run(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders![0].uri;
  const uri = vscode.Uri.joinPath(folder, 'deepear', 'deepear.sense');
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc);
  const ext = vscode.extensions.getExtension('sense-studio.sense-studio');
  assert.ok(ext, 'the extension is installed');
  await until(() => ext.isActive, 'activation');

  // An error appears in the diagnostics (the Problems panel's source) and goes on undo.
  const line = doc.getText().split('\n').findIndex((l) => l.trim().startsWith('target snapdragon800'));
  await editor.edit((e) => e.replace(new vscode.Range(line, 0, line, doc.lineAt(line).text.length), '  target nosuchdevice'));
  await until(() => vscode.languages.getDiagnostics(uri).some((d) => d.message.includes('nosuchdevice')), 'the unknown-device error');
  await vscode.commands.executeCommand('undo');
  await until(() => !vscode.languages.getDiagnostics(uri).some((d) => d.message.includes('nosuchdevice')), 'the error to clear');

  // The graph opens beside the text.
  await vscode.commands.executeCommand('senseStudio.openGraph', uri);
  await until(() => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === 'senseStudio.graph')), 'the graph tab');

  // Compress a layer (the command the graph's Apply shares its edit code with): the text changes; undo restores it.
  await vscode.window.showTextDocument(doc);
  await vscode.commands.executeCommand('senseStudio.compressLayer', uri, 'encoder.3', { kind: 'svd', criterion: 'rank', rank: 32 });
  await until(() => doc.getText().includes('compress encoder.3 svd rank 32'), 'the compress line');
  await vscode.commands.executeCommand('undo');
  await until(() => !doc.getText().includes('compress encoder.3'), 'the undo');

  // Run a sample clip and export a bundle.
  const result = await vscode.commands.executeCommand<{ type: string; after?: { heads: { head: string; probabilities?: number[] }[] } }>('senseStudio.runClip', uri, 'data/deepear/ambient/music/music-0000.wav');
  assert.equal(result?.type, 'runResult');
  const ambient = result.after!.heads.find((h) => h.head === 'ambient')!;
  assert.equal(ambient.probabilities!.length, 4);
  assert.ok(Math.abs(ambient.probabilities!.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'probabilities sum to 1');
  const bundle = join(folder.fsPath, 'deepear', 'deepear-bundle');
  await vscode.commands.executeCommand('senseStudio.exportBundle', uri, bundle);
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { pipeline: string; partitions: { model: string }[] };
  assert.equal(manifest.pipeline, 'DeepEar');
  for (const p of manifest.partitions) assert.ok(existsSync(join(bundle, p.model)), `${p.model} exists`);
}
