/**
 * Image pipelines from the command line: `sense eval` on a labelled folder of PNG and JPEG
 * images counts what `sense run` predicts for each image, `sense features` prints the image
 * tensor runtime/image.ts makes, and hostile image files are refused naming the file.
 * The pipeline is a small conv2d on 8 x 8 grey images with seeded weights; the images are
 * written by the test (fast-png and jpeg-js encoders).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../../language/polyfills';
import { main } from '../../../cli/main';
import { tempDir } from '../export/helpers';

const PIPELINE = `pipeline Tiny {
  input image { size 8 x 8  channels 1 }
  shared trunk {
    conv2d 2 kernel 3 relu
    flatten
  }
  head tone from trunk {
    dense 2 softmax
    labels [dark, light]
  }
  target snapdragon800
  weights "tiny.safetensors"
}
`;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A width x height RGB picture of `level` (0..255) with a diagonal ramp, so images differ. */
function rgb(width: number, height: number, level: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, level + 4 * (x - y) + 10 * c));
  return data;
}

let dir = '';
let sense = '';
let folder = '';

beforeAll(async () => {
  dir = tempDir('sense-image-cli-');
  sense = join(dir, 'tiny.sense');
  writeFileSync(sense, PIPELINE);
  const init = await cli('init-weights', sense, '--seed', '5');
  expect(init.code, init.err).toBe(0);
  folder = join(dir, 'labelled');
  for (const [label, levels] of [['dark', [20, 40, 60]], ['light', [180, 200, 230]]] as const) {
    const sub = join(folder, 'tone', label);
    mkdirSync(sub, { recursive: true });
    levels.forEach((level, i) => {
      if (i === 2) writeFileSync(join(sub, `img${i}.jpg`), encodeJpeg({ width: 13, height: 11, data: rgbaOf(rgb(13, 11, level)) }, 95).data);
      else writeFileSync(join(sub, `img${i}.png`), encodePng({ width: 12 + i, height: 10, data: rgb(12 + i, 10, level), channels: 3, depth: 8 }));
    });
    // Files of other kinds in a label folder are not images of this pipeline and are skipped.
    writeFileSync(join(sub, 'notes.txt'), 'not an image');
  }
}, 120_000);

function rgbaOf(rgbData: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgbData.length / 3) * 4);
  for (let p = 0; p < rgbData.length / 3; p++) {
    out.set(rgbData.subarray(p * 3, p * 3 + 3), p * 4);
    out[p * 4 + 3] = 255;
  }
  return out;
}

describe('image pipelines on the command line', () => {
  it('sense eval on a labelled folder of PNG and JPEG images counts what sense run predicts', async () => {
    const ev = await cli('eval', sense, folder, '--json');
    expect(ev.code, ev.err).toBe(0);
    const tone = (JSON.parse(ev.out) as { heads: Record<string, { clips: number; correct: number; confusion: number[][] }> }).heads.tone;
    expect(tone.clips).toBe(6);
    const confusion = [
      [0, 0],
      [0, 0],
    ];
    for (const [t, label] of ['dark', 'light'].entries())
      for (const f of ['img0.png', 'img1.png', 'img2.jpg']) {
        const r = await cli('run', sense, join(folder, 'tone', label, f), '--json');
        expect(r.code, r.err).toBe(0);
        const predicted = (JSON.parse(r.out) as { clips: { heads: Record<string, { label: string }> }[] }).clips[0].heads.tone.label;
        confusion[t][predicted === 'dark' ? 0 : 1]++;
      }
    expect(tone.confusion).toEqual(confusion);
    expect(tone.correct).toBe(confusion[0][0] + confusion[1][1]);
  }, 120_000);

  it('sense features prints the grey 8 x 8 tensor of a colour image', async () => {
    const file = join(folder, 'tone', 'light', 'img0.png');
    const f = await cli('features', sense, file, '--json');
    expect(f.code, f.err).toBe(0);
    const { shape, data } = JSON.parse(f.out) as { shape: number[]; data: number[] };
    expect(shape).toEqual([1, 8, 8]);
    // By hand, pixel (0, 0) of a 12 x 10 image read at 8 x 8: source (0.25, 0.125), between
    // pixels 0 and 1 of rows 0 and 1; each pixel's luma is that of level + 4 (x - y) + 10 c.
    const luma = (x: number, y: number): number => [0, 1, 2].reduce((a, c) => a + [0.299, 0.587, 0.114][c] * Math.max(0, Math.min(255, 180 + 4 * (x - y) + 10 * c)), 0) / 255;
    const sx = 0.5 * (12 / 8) - 0.5;
    const sy = 0.5 * (10 / 8) - 0.5;
    const top = (1 - sx) * luma(0, 0) + sx * luma(1, 0);
    const bottom = (1 - sx) * luma(0, 1) + sx * luma(1, 1);
    expect(data[0]).toBeCloseTo((1 - sy) * top + sy * bottom, 6);
  });

  it('refuses hostile image files naming each', async () => {
    const png = readFileSync(join(folder, 'tone', 'dark', 'img0.png'));
    const cut = join(dir, 'cut.png');
    writeFileSync(cut, png.subarray(0, png.length - 20));
    const huge = join(dir, 'huge.png');
    const h = Buffer.from(png);
    h.writeUInt32BE(60_000, 16);
    h.writeUInt32BE(60_000, 20);
    writeFileSync(huge, h);
    const empty = join(dir, 'empty.png');
    writeFileSync(empty, '');
    const wav = join(dir, 'sound.wav');
    writeFileSync(wav, 'RIFF');
    for (const [file, message] of [
      [cut, /cut\.png: the PNG is truncated or corrupt/],
      [huge, /huge\.png: the PNG declares 60000 x 60000 pixels/],
      [empty, /empty\.png: not a PNG or JPEG image \(the file is empty\)/],
      [folder, /labelled is a directory/],
      ['/dev/zero', /\/dev\/zero is a character device/],
      [wav, /sound\.wav: pipeline Tiny takes image input \(a PNG or JPEG file\), not audio/],
    ] as const) {
      const r = await cli('run', sense, file);
      expect(r.code, file).not.toBe(0);
      expect(r.err, file).toMatch(message);
      expect(r.err, file).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});
