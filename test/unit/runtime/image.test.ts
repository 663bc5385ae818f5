/**
 * The image front end (runtime/image.ts) against an independent reference
 * (./image-reference.py: PIL decodes, numpy converts the channels, PyTorch's bilinear
 * interpolate resizes), over PNG of every colour type and JPEG; and hostile images, which
 * must be refused quickly with a message naming the file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, imageInputTensor, MAX_IMAGE_PIXELS } from '../../../runtime/image';
import { clipInputOf, clipWindows } from '../../../runtime/runner';
import { readClip } from '../../../runtime/node-files';
import { pythonHas, runPython } from '../../support/python';
import { tempDir } from '../export/helpers';

const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..', '..');

interface Case {
  file: string;
  channels: number;
  height: number;
  width: number;
  data: number[];
  pil_grey?: number[];
}

let dir = '';
let cases: Case[] = [];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function tensorOf(c: Case): Float32Array {
  return imageInputTensor(new Uint8Array(readFileSync(c.file)), c, c.file);
}

function caseNamed(name: string): Case {
  const c = cases.find((x) => x.file.endsWith(`/${name}`));
  if (!c) throw new Error(`no reference case ${name}`);
  return c;
}

/** A CRC-less header patch: our size check reads the header before any decoder runs. */
function withPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  new DataView(out.buffer).setUint32(16, width);
  new DataView(out.buffer).setUint32(20, height);
  return out;
}

describe('image front end against PIL, numpy and PyTorch', () => {
  beforeAll(() => {
    expect(pythonHas('torch', 'numpy', 'PIL')).toBe(true);
    dir = tempDir('sense-image-');
    cases = runPython<Case[]>(readFileSync(join(ROOT, 'test/unit/runtime/image-reference.py'), 'utf8'), { dir }, 120_000);
  }, 180_000);

  it.each([
    'rgb-down.png',
    'rgb-up.png',
    'rgb-same.png',
    'rgba-to-rgb.png',
    'rgba-keep.png',
    'grey-to-rgb.png',
    'rgb-to-grey.png',
    'rgb-to-grey-small.png',
    'rgb-to-rgba.png',
    'grey-alpha.png',
    'palette.png',
    'grey16.png',
    'grey16-resized.png',
    'bits.png',
  ])('%s: decoded, converted and resized as the reference (float32 rounding only)', (name) => {
    const c = caseNamed(name);
    const worst = maxAbsDiff(tensorOf(c), c.data);
    expect(worst).toBeLessThan(1e-6);
  });

  it('reads an image already at the stated size unchanged (every value a sample / 255)', () => {
    const c = caseNamed('rgb-same.png');
    const t = tensorOf(c);
    for (const v of t) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
  });

  it("converts colour to grey as PIL's convert('L') does, up to its rounding to 8 bits", () => {
    const c = caseNamed('rgb-to-grey.png');
    expect(maxAbsDiff(tensorOf(c), c.pil_grey!)).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  });

  it.each(['photo444.jpg', 'grey420.jpg', 'grey.jpg', 'progressive.jpg', 'photo420.jpg'])('%s: JPEG decoded within a few levels of libjpeg-turbo', (name) => {
    // Two JPEG decoders differ in their inverse DCT's rounding (a level or two; a level is
    // 1/255), and in 4:2:0 chroma upsampling: jpeg-js repeats each chroma sample over its
    // 2 x 2 block where libjpeg-turbo interpolates ("fancy upsampling"), so a colour
    // gradient differs by up to half a chroma step. grey420.jpg has constant chroma, so it
    // checks the subsampled path at IDCT tolerance. The mean shows no channel or row is misplaced.
    const c = caseNamed(name);
    const ours = tensorOf(c);
    const worst = maxAbsDiff(ours, c.data);
    let mean = 0;
    for (let i = 0; i < ours.length; i++) mean += Math.abs(ours[i] - c.data[i]) / ours.length;
    console.log(`${name}: max ${(worst * 255).toFixed(2)} levels, mean ${(mean * 255).toFixed(3)} levels from PIL`);
    expect(worst).toBeLessThan((name === 'photo420.jpg' ? 16 : 4) / 255);
    expect(mean).toBeLessThan((name === 'photo420.jpg' ? 3 : 1) / 255);
  });
});

describe('hostile images', () => {
  const png = (): Uint8Array => new Uint8Array(readFileSync(caseNamed('rgb-down.png').file));
  const jpg = (): Uint8Array => new Uint8Array(readFileSync(caseNamed('photo444.jpg').file));
  const shape = { channels: 3, height: 32, width: 32 };

  it('refuses a truncated PNG or JPEG naming the file', () => {
    for (const [bytes, what] of [[png(), 'PNG'], [jpg(), 'JPEG']] as const)
      for (const keep of [0.9, 0.5, 0.1, 20 / bytes.length, 9 / bytes.length])
        expect(() => imageInputTensor(bytes.subarray(0, Math.floor(bytes.length * keep)), shape, 'cut.img'), `${what} cut to ${keep}`).toThrow(new RegExp(`^cut\\.img: the ${what} is truncated or corrupt`));
  });

  it('refuses huge and zero declared sizes from the header, before decoding', () => {
    expect(() => decodeImage(withPngSize(png(), 100_000, 100_000), 'huge.png')).toThrow(/^huge\.png: the PNG declares 100000 x 100000 pixels \(10000 megapixels\), more than the 33\.6 megapixels read/);
    expect(() => decodeImage(withPngSize(png(), 0, 32), 'empty.png')).toThrow(/^empty\.png: the PNG declares 0 x 32 pixels; an image needs at least one pixel/);
    // The JPEG's frame header (SOF) declares 65535 x 65535.
    const j = jpg();
    let sof = 2;
    while (!(j[sof] === 0xff && j[sof + 1] >= 0xc0 && j[sof + 1] <= 0xc2)) sof += 2 + ((j[sof + 2] << 8) | j[sof + 3]);
    j.set([0xff, 0xff, 0xff, 0xff], sof + 5);
    expect(() => decodeImage(j, 'huge.jpg')).toThrow(/^huge\.jpg: the JPEG declares 65535 x 65535 pixels/);
    expect(MAX_IMAGE_PIXELS).toBe(2 ** 25);
  });

  it('refuses an empty file, another format and a pipeline channel count no image has', () => {
    expect(() => decodeImage(new Uint8Array(0), 'none.png')).toThrow(/^none\.png: not a PNG or JPEG image \(the file is empty\)/);
    expect(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'a.gif')).toThrow(/^a\.gif: not a PNG or JPEG image/);
    expect(() => imageInputTensor(png(), { channels: 5, height: 4, width: 4 }, 'five.png')).toThrow(/^five\.png: the pipeline reads 5 image channels/);
  });

  it('refuses a directory and /dev/zero by name through io/user-files, and audio for an image pipeline', async () => {
    const sub = join(dir, 'folder.png');
    mkdirSync(sub, { recursive: true });
    await expect(readClip(sub)).rejects.toThrow(/folder\.png/);
    await expect(readClip('/dev/zero')).rejects.toThrow(/\/dev\/zero/);
    const manifest = { pipeline: 'Tiny', input: { kind: 'image' as const, height: 4, width: 4, channels: 3, hopS: 1 } };
    expect(() => clipWindows(manifest, { kind: 'wav', bytes: new Uint8Array(44) }, 'x.wav')).toThrow(/^x\.wav: pipeline Tiny takes image input \(a PNG or JPEG file\), not audio/);
    const file = join(dir, 'ok.PNG');
    writeFileSync(file, png());
    const clip = await readClip(file);
    expect(clip).toEqual(clipInputOf('ok.png', png()));
    expect(clipWindows(manifest, clip, file)[0]).toHaveLength(48);
  });
});
