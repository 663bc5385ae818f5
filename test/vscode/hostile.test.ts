/**
 * Sense Studio in real VS Code (code-server in Debian's Chromium) with workspace trust ON,
 * on a hostile repository: test/vscode/fixtures/hostile/ plus what git cannot hold, made
 * here (FIFOs as weights, clip and device profile; symbolic links out of the workspace).
 * Its `.vscode/settings.json` lists `/dev/zero`, a FIFO, a link out and a `..` path as
 * measured device profiles; its `.sense` files name a FIFO, a link out and a `..` path as
 * weights. The folder opens in Restricted Mode: the extension must be active with its
 * language features and read nothing. Once trusted, every hostile path must end in a
 * clear message naming it, the extension host must stay up, and a sentinel folder beside
 * the workspace must be neither read (access times) nor written (listing, contents).
 *
 * The steps depend on each other and run in order.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { graphFrame, quickOpen, selectLayer, ROOT, runCommand, waitFor, statusEstimate, writeSeededWeights, type Studio } from './code-server';
import { studioForSuite } from './studio-suite';

let s: Studio;
let outside: string;
let sentinel: Map<string, FileStamp>;

/** What a read (access time) or a write (modification time, size) of a file changes. */
interface FileStamp {
  atimeMs: number;
  mtimeMs: number;
  bytes: number;
}

/** An access time well before the file's modification time, so any read moves it (relatime updates it then). */
function ageAccessTime(file: string): void {
  const st = statSync(file);
  utimesSync(file, new Date(st.mtimeMs - 3_600_000), new Date(st.mtimeMs));
}

/** The sentinel folder's files and their stamps. */
function snapshot(dir: string): Map<string, FileStamp> {
  const out = new Map<string, FileStamp>();
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name));
    out.set(name, { atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, bytes: st.size });
  }
  return out;
}

/** The hostile workspace: the fixture, FIFOs, links out, seeded weights for clean.sense, and the sentinel beside it. */
async function hostileWorkspace(workspace: string, base: string): Promise<string> {
  cpSync(join(ROOT, 'test', 'vscode', 'fixtures', 'hostile'), workspace, { recursive: true });
  outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.safetensors'), 'not weights: a file outside the workspace');
  writeFileSync(join(outside, 'secret.wav'), 'not audio: a file outside the workspace');
  writeFileSync(join(outside, 'profile.json'), '{"not": "a profile"}');
  writeFileSync(join(outside, 'control.txt'), 'read by the test itself, to show that reads move access times here');
  for (const name of readdirSync(outside)) ageAccessTime(join(outside, name));
  mkdirSync(join(workspace, 'clips'));
  mkdirSync(join(workspace, 'profiles'));
  mkdirSync(join(workspace, 'eval', 'ambient'), { recursive: true });
  execFileSync('mkfifo', [join(workspace, 'fifo.safetensors'), join(workspace, 'clips', 'fifo.wav'), join(workspace, 'fifo-profile.json')]);
  symlinkSync(join(outside, 'secret.safetensors'), join(workspace, 'link-out.safetensors'));
  symlinkSync(join(outside, 'secret.wav'), join(workspace, 'clips', 'out.wav'));
  symlinkSync(join(outside, 'profile.json'), join(workspace, 'profiles', 'out-link.json'));
  // A labelled folder (HEAD/LABEL/*.wav) whose label folder is the sentinel folder itself.
  symlinkSync(outside, join(workspace, 'eval', 'ambient', 'music'));
  await writeSeededWeights(join(workspace, 'clean.sense'), join(workspace, 'clean.safetensors'));
  return join(workspace, 'clean.sense');
}

/**
 * Waits until a notification matches `pattern`, reading the notification center (which keeps
 * those whose toasts were replaced), then hides the center again.
 */
async function waitForNotification(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  const center = s.page.locator('.notifications-center');
  if (!(await center.isVisible().catch(() => false))) await runCommand(s.page, 'Notifications: Show Notifications');
  await center.waitFor({ timeout: 10_000 });
  let text = '';
  await waitFor(async () => pattern.test((text = await center.innerText())), what, timeoutMs);
  await runCommand(s.page, 'Notifications: Hide Notifications');
  await center.waitFor({ state: 'hidden', timeout: 10_000 });
  return text;
}

/** Types an unknown target into `file`'s target line, waits for the language server's diagnostic, then undoes it. */
async function languageServerAnswers(file: string, word: string): Promise<void> {
  await quickOpen(s.page, file);
  const text = readFileSync(join(s.workspace, file), 'utf8').split('\n');
  const line = text.findIndex((l) => l.trim().startsWith('target snapdragon800')) + 1;
  await s.page.locator('.monaco-editor .view-lines', { hasText: 'target snapdragon800' }).first().waitFor({ timeout: 60_000 });
  await s.page.keyboard.press('Control+G');
  await s.page.keyboard.type(String(line));
  await s.page.keyboard.press('Enter');
  await s.page.keyboard.press('End');
  await s.page.keyboard.press('Shift+Home');
  await s.page.keyboard.type(`target ${word}`);
  await s.page.keyboard.press('Control+Shift+M');
  await s.page.locator('.markers-panel .monaco-list-row', { hasText: word }).first().waitFor({ timeout: 60_000 });
  await s.page.keyboard.press('Control+1');
  for (let i = 0; i < 12 && (await s.page.locator('.monaco-editor .view-line', { hasText: /target\s+snapdragon800/ }).count()) === 0; i++) {
    await s.page.keyboard.press('Control+Z');
    await s.page.waitForTimeout(200);
  }
  await waitFor(async () => (await s.page.locator('.markers-panel .monaco-list-row', { hasText: word }).count()) === 0, `the ${word} problem to go away`);
}

/** Closes every editor (graphs included) and waits until no tab is left. */
async function closeAllEditors(): Promise<void> {
  await runCommand(s.page, 'View: Close All Editors');
  await waitFor(async () => (await s.page.locator('.tabs-container .tab').count()) === 0, 'every editor to close');
}

/** Opens `file`'s graph (closing the editors before, so exactly one graph webview is up) and checks it shows `pipeline`. */
async function openGraph(file: string, pipeline: string): Promise<Frame> {
  await closeAllEditors();
  await quickOpen(s.page, file);
  await s.page.locator('.monaco-editor .view-lines', { hasText: `pipeline ${pipeline}` }).first().waitFor({ timeout: 60_000 });
  await runCommand(s.page, 'Sense: Open Graph to the Side');
  const g = await graphFrame(s.page);
  await g.getByText(pipeline, { exact: true }).first().waitFor({ timeout: 30_000 });
  return g;
}

/** Clicks the dense layer, which asks the host for its spectrum, and returns the reason the compress panel shows in its place. */
async function spectrumError(g: Frame, pattern: RegExp): Promise<string> {
  await selectLayer(g, 'encoder.2');
  const panel = g.locator('[data-testid="compress-unavailable"]');
  await waitFor(async () => pattern.test((await panel.innerText().catch(() => '')) ?? ''), `the compress panel to say ${pattern}`, 60_000);
  // The panel ends its wait: no spinner stays behind the message.
  expect(await g.locator('[data-testid="spectrum-loading"]').count()).toBe(0);
  return panel.innerText();
}

/** Picks `value` in a run-panel select, adding it as an option first when the host did not offer it (a message the UI would not send). */
async function choose(g: Frame, label: string, value: string): Promise<void> {
  const select = g.locator(`select[aria-label="${label}"]`);
  await select.waitFor({ timeout: 30_000 });
  await select.evaluate((el: HTMLSelectElement, v: string) => {
    if (![...el.options].some((o) => o.value === v)) el.add(new Option(v, v));
  }, value);
  await select.selectOption(value);
}

/** Errors are dismissed between steps, so each check reads only its own. */
async function dismissErrors(g: Frame): Promise<void> {
  for (let i = 0; i < 10 && (await g.locator('[data-testid="error-banner"] button[aria-label="Dismiss"]').count()) > 0; i++) {
    await g.locator('[data-testid="error-banner"] button[aria-label="Dismiss"]').first().click();
  }
}

describe('Sense Studio in VS Code on a hostile repository (workspace trust on)', () => {
  studioForSuite('hostile-', { trust: true, prepare: hostileWorkspace }, (started) => {
    s = started;
    sentinel = snapshot(outside);
  });

  it('opens in Restricted Mode with the extension active: estimates and diagnostics, no profile read', async () => {
    await s.page.locator('.monaco-workbench').getByText('Restricted Mode').first().waitFor({ timeout: 60_000 });
    await quickOpen(s.page, 'clean.sense');
    const estimate = await statusEstimate(s.page);
    expect(estimate.target).toBe('snapdragon800');
    expect(estimate.latencyMs).toBeGreaterThan(0);
    await languageServerAnswers('clean.sense', 'nosuchdeviceuntrusted');
    // Running is refused with a message; the profiles (/dev/zero among them) were not even opened.
    await runCommand(s.page, 'Sense: Run on Clip');
    const text = await waitForNotification(/Run on Clip runs code on this workspace's files, which Restricted Mode does not allow/, 'the Restricted Mode refusal');
    expect(text).not.toMatch(/dev\/zero|fifo-profile/);
    await s.shot('hostile-01-restricted');
  }, 240_000);

  it('once trusted, names each hostile device profile in a message', async () => {
    await s.page.keyboard.press('Escape');
    await runCommand(s.page, 'Workspaces: Manage Workspace Trust');
    const trust = s.page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
    await trust.waitFor({ timeout: 30_000 });
    await trust.click();
    await s.page.getByText('You trust this folder').first().waitFor({ timeout: 30_000 });
    await closeAllEditors();
    await waitFor(async () => (await s.page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).count()) === 0, 'the Restricted Mode status item to go');
    await waitForNotification(/\/dev\/zero: resolves to \/dev\/zero, outside the folder/, 'the /dev/zero profile message', 60_000);
    await waitForNotification(/fifo-profile\.json is a FIFO \(named pipe\), not a regular device profile/, 'the FIFO profile message');
    await waitForNotification(/out-link\.json: resolves to .*outside\/profile\.json, outside the folder/, 'the linked-out profile message');
    await waitForNotification(/outside\/profile\.json: resolves to .*, outside the folder/, 'the .. profile message');
    await s.shot('hostile-02-trusted-profiles');
  }, 180_000);

  it.each([
    ['fifo.sense', 'FifoWeights', /fifo\.safetensors is a FIFO \(named pipe\), not a regular weights file/],
    ['link.sense', 'LinkWeights', /link-out\.safetensors: resolves to .*outside\/secret\.safetensors, outside the folder/],
    ['escape.sense', 'EscapeWeights', /outside\/secret\.safetensors: resolves to .*, outside the folder/],
  ])('names the hostile weights of %s in the graph, promptly', async (file, pipeline, pattern) => {
    const g = await openGraph(file, pipeline);
    const t0 = Date.now();
    const text = await spectrumError(g, pattern);
    expect(text).toMatch(pattern);
    expect(Date.now() - t0).toBeLessThan(60_000);
    await s.shot(`hostile-03-${file.replace('.sense', '')}`);
  }, 180_000);

  it('names a FIFO clip, a clip linked out, a .. clip and a labelled folder linked out when run from the graph', async () => {
    const g = await openGraph('clean.sense', 'Clean');
    const banner = g.locator('[data-testid="error-banner"]');
    const runs: [string, string, string, RegExp][] = [
      ['Clip to run', 'run-clip', 'clips/fifo.wav', /clips\/fifo\.wav is a FIFO \(named pipe\), not a regular clip/],
      ['Clip to run', 'run-clip', 'clips/out.wav', /clips\/out\.wav: resolves to .*outside\/secret\.wav, outside the folder/],
      ['Clip to run', 'run-clip', '../outside/secret.wav', /must be a workspace-relative path/],
      ['Labelled folder to evaluate', 'evaluate-folder', 'eval', /eval\/ambient\/music: resolves to .*outside, outside the folder/],
    ];
    for (const [label, button, value, pattern] of runs) {
      await dismissErrors(g);
      await choose(g, label, value);
      await g.locator(`[data-testid="${button}"]`).click();
      await waitFor(async () => pattern.test((await banner.innerText().catch(() => '')) ?? ''), `the banner to say ${pattern}`, 150_000);
    }
    await s.shot('hostile-04-clips');
  }, 600_000);

  it('keeps the extension host and the language server up, and leaves the sentinel folder unread and unwritten', async () => {
    await closeAllEditors();
    await quickOpen(s.page, 'clean.sense');
    expect((await statusEstimate(s.page)).target).toBe('snapdragon800');
    await languageServerAnswers('clean.sense', 'nosuchdevicetrusted');
    expect(s.log.join('')).not.toMatch(/Extension host .*(terminated|crashed|exited)/i);
    // The sentinel: the same files, unread and unwritten since before the studio started.
    const after = snapshot(outside);
    expect([...after.keys()]).toEqual([...sentinel.keys()]);
    for (const [name, before] of sentinel) expect(after.get(name), `${name} was read or written`).toEqual(before);
    // The control: a read here does move the access time, so the check above can fail.
    readFileSync(join(outside, 'control.txt'));
    expect(statSync(join(outside, 'control.txt')).atimeMs).not.toBe(sentinel.get('control.txt')!.atimeMs);
  }, 180_000);
});
