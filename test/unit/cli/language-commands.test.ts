/**
 * `sense check`, `sense fmt` and `sense info` through `main()` with captured output:
 * positions are 1-based, exit codes follow the usage, files are rewritten whole.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense, type SenseRun } from '../../support/sense-cli';

const root = join(new URL('.', import.meta.url).pathname, '..', '..', '..');

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'sense-cli-'));
}

/** Writes `text` as `name` in a fresh folder and runs `sense command` on that file. */
async function senseOnText(command: string, name: string, text: string): Promise<SenseRun & { file: string }> {
  const file = join(scratch(), name);
  writeFileSync(file, text);
  return { file, ...(await sense(command, file)) };
}

describe('sense check', () => {
  it('prints file:line:col (1-based) with severity and code, and exits 1 on an error', async () => {
    const { file, ...r } = await senseOnText('check', 'bad.sense', 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  shared e { dense 4 }\n  target snapdragon800\n  place e on dps\n}\n');
    expect(r.code).toBe(1);
    expect(r.outLines).toEqual([`${file}:5:14: error unresolved-processor: Target 'snapdragon800' has no processor 'dps'; it has cpu, gpu, dsp.`]);
  });

  it('passes the samples (exit 0)', async () => {
    const r = await sense('check', join(root, 'samples/deepx/alexnet.sense'), join(root, 'samples/watch/activity.sense'));
    expect(r).toMatchObject({ code: 0, outLines: [], errLines: [] });
  });
});

describe('sense fmt', () => {
  it('--check lists unformatted files and exits 1; without it rewrites them; then --check passes', async () => {
    const dir = scratch();
    const messy = join(dir, 'messy.sense');
    const clean = join(dir, 'clean.sense');
    writeFileSync(messy, 'pipeline P {input audio{rate 16 kHz window 1 s}\n}\n');
    writeFileSync(clean, 'pipeline P { input audio { rate 16 kHz  window 1 s } }\n');
    expect(await sense('fmt', '--check', messy, clean)).toMatchObject({ code: 1, outLines: [messy], errLines: [] });
    expect(readFileSync(messy, 'utf8')).toBe('pipeline P {input audio{rate 16 kHz window 1 s}\n}\n');
    expect(await sense('fmt', messy, clean)).toMatchObject({ code: 0, outLines: [`formatted ${messy}`], errLines: [] });
    expect(readFileSync(messy, 'utf8')).toBe('pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n}\n');
    expect(readdirSync(dir).sort()).toEqual(['clean.sense', 'messy.sense']);
    expect((await sense('fmt', '--check', messy, clean)).code).toBe(0);
  });

  it('refuses a file with syntax errors and leaves it untouched', async () => {
    const { file, ...r } = await senseOnText('fmt', 'broken.sense', 'pipeline P { shared e { dense } }\n');
    expect(r.code).toBe(1);
    expect(r.errLines[0]).toContain('has syntax errors and was not formatted');
    expect(r.errLines[1]).toMatch(/broken\.sense:1:31: error parsing-error/);
    expect(readFileSync(file, 'utf8')).toBe('pipeline P { shared e { dense } }\n');
  });

  it('names a missing file', async () => {
    const r = await sense('fmt', '/no/such/file.sense');
    expect(r.code).toBe(2);
    expect(r.errLines).toEqual(['sense fmt: /no/such/file.sense: no such pipeline file; check the path']);
  });
});

describe('sense info', () => {
  it('prints the layer table with hand-computed figures', async () => {
    const r = await sense('info', join(root, 'samples/watch/activity.sense'));
    expect(r.code).toBe(0);
    expect(r.outLines[0]).toBe('pipeline WatchActivity on nrf52840: inertial input, features [60]');
    expect(r.outLines[1].split(/\s{2,}/)).toEqual(['block', 'layer', 'kind', 'output shape', 'parameters', 'MACs', 'activation bytes']);
    // 60 statistics -> dense 64: 60 x 64 + 64 = 3,904 parameters; 64 float32 outputs = 256 bytes.
    expect(r.outLines[3].split(/\s{2,}/)).toEqual(['encoder', 'encoder.1', 'dense 64 relu', '[64]', '3,904', expect.any(String), '256']);
  });

  it('--json gives the same table as data, with totals', async () => {
    const r = await sense('info', join(root, 'samples/deepx/alexnet.sense'), '--json');
    const info = JSON.parse(r.outLines.join('\n'));
    expect(info.target).toBe('tegrak1');
    const conv1 = info.layers[0];
    // conv2d 96 kernel 11 stride 4 on [3, 227, 227]: (227 - 11) / 4 + 1 = 55; 96 x 3 x 11 x 11 + 96 = 34,944 parameters.
    expect(conv1).toMatchObject({ block: 'convs', layer: 'convs.1', name: 'conv1', outputShape: [96, 55, 55], params: 34944 });
    expect(info.layers.at(-1)).toMatchObject({ layer: 'imagenet.5', outputShape: [1000] });
    expect(info.totals.params).toBe(info.layers.reduce((a: number, l: { params: number }) => a + l.params, 0));
  });

  it('refuses a file with errors, listing them', async () => {
    const { file, ...r } = await senseOnText('info', 'bad.sense', 'pipeline P {\n  input audio { rate 16  window 1 s }\n}\n');
    expect(r.code).toBe(1);
    expect(r.errLines.join('\n')).toContain(`${file}:2:22: error missing-unit`);
  });
});
