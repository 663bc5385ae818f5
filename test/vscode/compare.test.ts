/**
 * Compare with HEAD in real VS Code (code-server in Debian's Chromium): the workspace is a git
 * repository with the DeepEar sample committed, and the working file adds a `compress
 * encoder.2 svd rank 16` line. "Sense: Compare with HEAD" from the palette must open the graph
 * with the comparison: encoder.2's node carries its parameter change (the SVD factors U 3920 x
 * 16 and V 16 x 256 replace W 3920 x 256, counted by hand), the panel lists it under the totals,
 * and "Clear comparison" removes it. Screenshot: test-output/vscode/compare-head.png.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCountShort, formatSigned } from '../../language/figures';
import { graphFrame, quickOpen, ROOT, runCommand, type Studio } from './code-server';
import { studioForSuite } from './studio-suite';

let s: Studio;

/** A git repository with the sample committed and a compress line added in the working tree. */
async function repoWorkspace(workspace: string): Promise<string> {
  const dir = join(workspace, 'deepear');
  mkdirSync(dir, { recursive: true });
  const sensePath = join(dir, 'deepear.sense');
  cpSync(join(ROOT, 'samples/deepear/deepear.sense'), sensePath);
  cpSync(join(ROOT, 'samples/deepear/deepear.safetensors'), join(dir, 'deepear.safetensors'));
  const git = (...args: string[]): string => execFileSync('git', ['-C', workspace, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { encoding: 'utf8' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'v1');
  const place = '  place encoder, ambient, stress on dsp\n';
  const text = readFileSync(sensePath, 'utf8');
  if (!text.includes(place)) throw new Error('the sample has no place line to write before');
  writeFileSync(sensePath, text.replace(place, `  compress encoder.2 svd rank 16\n${place}`));
  return sensePath;
}

describe('Compare with HEAD in VS Code (code-server)', () => {
  studioForSuite('compare-', { prepare: repoWorkspace }, (started) => (s = started));

  it('shows the deltas against the committed file on the graph and clears them', async () => {
    await quickOpen(s.page, 'deepear.sense');
    await s.page.locator('.monaco-editor .view-lines', { hasText: 'pipeline DeepEar' }).first().waitFor({ timeout: 60_000 });
    await runCommand(s.page, 'Sense: Compare with HEAD');
    const g = await graphFrame(s.page, 120_000);
    const panel = g.locator('[data-testid="compare-panel"]');
    await panel.waitFor({ timeout: 60_000 });
    expect(await panel.innerText()).toMatch(/Compared with deepear\.sense at HEAD/i);
    const badge = g.locator('[data-layer-id="encoder.2"] [data-testid="compare-badge"]');
    await badge.waitFor({ timeout: 30_000 });
    expect(await badge.innerText()).toContain(formatSigned(16 * (3920 + 256) - 3920 * 256, formatCountShort));
    await s.shot('compare-head');
    await g.locator('[data-testid="compare-clear"]').click();
    await panel.waitFor({ state: 'detached', timeout: 30_000 });
    expect(await g.locator('[data-testid="compare-badge"]').count()).toBe(0);
  }, 300_000);
});
