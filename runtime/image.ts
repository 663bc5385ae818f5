/**
 * The image front end: PNG or JPEG bytes in, the [channels, height, width] tensor an image
 * pipeline's first layer reads out. Pure TypeScript over two pure-JavaScript decoders
 * (fast-png, with fflate's inflate, and jpeg-js), so it runs in Node and in the demo page.
 *
 * What the tensor is, step by step (what a PyTorch model trained on
 * `torchvision.transforms.ToTensor()` then `Resize(size, antialias=False)` on tensors sees):
 * - decoding: PNG of every colour type and bit depth (palettes expanded, 1/2/4-bit grey
 *   unpacked, 16-bit kept at 16 bits; Adam7 interlacing at 8 and 16 bits only, which is what
 *   fast-png decodes correctly), baseline and progressive JPEG; no gamma or ICC
 *   correction is applied, as neither PIL nor torchvision applies one;
 * - scaling: each sample divided by its largest value (255, or 65535 for 16-bit PNG), so
 *   the tensor lies in [0, 1]; the language states no mean/std normalisation for images;
 * - channels: the decoded image's grey, grey+alpha, RGB or RGBA turned into the pipeline's
 *   1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) channels. Grey from colour is ITU-R
 *   BT.601 luma, 0.299 R + 0.587 G + 0.114 B (PIL's `convert('L')` and torchvision's
 *   `rgb_to_grayscale` use these weights); grey to colour repeats it; alpha is dropped
 *   when the pipeline has none and is 1 (opaque) when the image has none;
 * - resizing: bilinear with half-pixel centres and no antialiasing, exactly
 *   `torch.nn.functional.interpolate(x, size=(height, width), mode='bilinear',
 *   align_corners=False)`: output pixel d reads source coordinate s = (d + 0.5) * in / out - 0.5,
 *   clamped at 0, between pixels floor(s) and floor(s) + 1 (the last pixel repeated at the
 *   edge). An image already at the stated size is read unchanged;
 * - layout: channels first, rows top to bottom, row-major.
 *
 * Hostile files: the declared width and height are read from the header and checked
 * ({@link MAX_IMAGE_PIXELS}) before any decoder allocates; truncated or corrupt data is an
 * Error naming the file, never a partial image.
 */
import { decode as decodePng, convertIndexedToRgb, type DecodedPng } from 'fast-png';
import { decode as decodeJpeg } from 'jpeg-js';

/**
 * Largest image decoded, in pixels: 2^25 (33.5 megapixels, more than a 6000 x 5000 camera
 * frame). A 16-bit RGBA image this size decodes to 256 MiB; larger declared sizes are refused
 * before decoding, since a few kilobytes of PNG can declare gigapixels.
 */
export const MAX_IMAGE_PIXELS = 2 ** 25;

/** A decoded image: interleaved samples (height x width x channels), unscaled. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey and alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Row-major interleaved samples. */
  data: Uint8Array | Uint8ClampedArray | Uint16Array;
  /** The largest sample value, 255 or 65535: a sample's value in [0, 1] is data[i] / maxValue. */
  maxValue: number;
}

/** The image shape a pipeline reads: channels first. */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** 'png' or 'jpeg' by the file's first bytes, or undefined. */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
}

/** Bit depths the PNG specification allows for each colour type (grey, RGB, palette, grey+alpha, RGBA). */
const PNG_DEPTHS: Record<number, { depths: number[]; channels: number }> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 },
  2: { depths: [8, 16], channels: 3 },
  3: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 },
  6: { depths: [8, 16], channels: 4 },
};

/**
 * Deflate's largest expansion: 258 bytes from a length/distance pair that can take as
 * little as 2 bits (RFC 1951), so compressed data never inflates more than 1032 times.
 */
const DEFLATE_MAX_RATIO = 1032;

/** What a PNG's chunks declare, checked before any decoder runs. */
interface PngLayout {
  width: number;
  height: number;
  colourType: number;
}

/**
 * Walks a PNG's chunks and checks what the decoder would trust: every chunk inside the
 * file, IHDR first and 13 bytes long, a bit depth its colour type allows, compression and
 * filter method 0, interlace 0 or 1, a palette of 1 to 256 entries before the data of a
 * palette image, at least one IDAT chunk, and enough compressed data for the declared
 * size (deflate expands at most {@link DEFLATE_MAX_RATIO} times), so a few bytes declaring
 * megapixels are refused here rather than allocated.
 */
function pngLayout(bytes: Uint8Array, name: string): PngLayout {
  const corrupt = (why: string): Error => new Error(`${name}: the PNG is truncated or corrupt: ${why}`);
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR' || u32be(bytes, 8) !== 13) throw corrupt('it has no 13-byte IHDR header after its signature');
  const width = u32be(bytes, 16);
  const height = u32be(bytes, 20);
  const [depth, colourType, compression, filter, interlace] = bytes.subarray(24, 29);
  checkDeclaredSize(width, height, 'PNG', name);
  const kind = PNG_DEPTHS[colourType];
  if (!kind) throw corrupt(`colour type ${colourType} is not one of 0, 2, 3, 4, 6`);
  if (!kind.depths.includes(depth)) throw corrupt(`colour type ${colourType} cannot have bit depth ${depth} (allowed: ${kind.depths.join(', ')})`);
  if (compression !== 0 || filter !== 0 || interlace > 1) throw corrupt(`compression, filter and interlace methods are ${compression}, ${filter}, ${interlace}; PNG defines 0, 0 and 0 or 1`);
  // fast-png 8 decodes such an image to one byte per pixel in place of packed samples (so
  // its values would be wrong), and its encoder writes one that PIL reads as truncated.
  if (interlace === 1 && depth < 8) throw new Error(`${name}: the PNG is Adam7-interlaced at ${depth} bits per sample, which is not read; save it without interlacing or at 8 bits`);
  let idatBytes = 0;
  let paletteEntries = 0;
  let ended = false;
  for (let at = 8; !ended; ) {
    if (at + 12 > bytes.length) throw corrupt(`it ends at byte ${bytes.length} inside a chunk header, before its IEND chunk`);
    const length = u32be(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(`the chunk at byte ${at} has no type (bytes ${[...bytes.subarray(at + 4, at + 8)].join(' ')})`);
    if (length > bytes.length - at - 12) throw corrupt(`chunk ${type} at byte ${at} declares ${length} bytes; ${Math.max(0, bytes.length - at - 12)} remain`);
    if (type === 'IHDR' && at !== 8) throw corrupt(`a second IHDR chunk at byte ${at}`);
    if (type === 'PLTE') {
      if (length === 0 || length % 3 !== 0 || length > 768) throw corrupt(`its palette (PLTE) is ${length} bytes; it must hold 1 to 256 RGB entries of 3 bytes`);
      paletteEntries = length / 3;
    }
    if (type === 'IDAT') {
      if (colourType === 3 && paletteEntries === 0) throw corrupt('a palette image has no palette (PLTE) before its data');
      idatBytes += length;
    }
    ended = type === 'IEND';
    at += 12 + length;
  }
  if (idatBytes === 0) throw corrupt('it has no image data (IDAT)');
  const rawBytes = pngRawBytes(width, height, kind.channels * depth, interlace === 1);
  if (rawBytes > DEFLATE_MAX_RATIO * idatBytes)
    throw corrupt(`its ${idatBytes} bytes of compressed data cannot hold the ${width} x ${height} pixels its header declares (${rawBytes} bytes; deflate expands at most ${DEFLATE_MAX_RATIO} times)`);
  return { width, height, colourType };
}

/** The bytes of a PNG's filtered rows: per row, a filter byte and the row's packed samples; for Adam7, over its seven passes. */
function pngRawBytes(width: number, height: number, bitsPerPixel: number, adam7: boolean): number {
  const rows = (w: number, h: number): number => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8)));
  if (!adam7) return rows(width, height);
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  return passes.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

/**
 * A JPEG's frame header and the bytes after its first scan header, found by walking the
 * segments from the start (each names its length). The blocks of a Huffman-coded JPEG
 * each cost at least one bit of scan data (a DC code is at least one bit long), so a frame
 * whose components hold more 8 x 8 blocks than 8 per byte after the first scan header is
 * truncated or declares a size it does not hold; it is refused before jpeg-js allocates
 * its blocks. Arithmetic-coded and lossless frames, which jpeg-js does not read, are refused.
 */
function jpegFrame(bytes: Uint8Array, name: string): { width: number; height: number } {
  const { width, height, sof, marker } = jpegSof(bytes, name);
  checkDeclaredSize(width, height, 'JPEG', name);
  if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2)
    throw new Error(`${name}: the JPEG is ${marker === 0xc3 || marker >= 0xc9 ? 'arithmetic-coded or lossless' : 'hierarchical'} (frame marker ff${marker.toString(16)}); only baseline, extended and progressive Huffman-coded JPEGs are read`);
  const count = bytes[sof + 9] ?? 0;
  if (count === 0 || sof + 10 + 3 * count > bytes.length) throw new Error(`${name}: the JPEG is truncated or corrupt: its frame header declares ${count} components`);
  const factors = Array.from({ length: count }, (_, c) => bytes[sof + 11 + 3 * c]);
  if (factors.some((f) => (f >> 4) < 1 || (f >> 4) > 4 || (f & 15) < 1 || (f & 15) > 4)) throw new Error(`${name}: the JPEG is corrupt: a component's sampling factors are not 1 to 4`);
  const hMax = Math.max(...factors.map((f) => f >> 4));
  const vMax = Math.max(...factors.map((f) => f & 15));
  const blocks = factors.reduce((sum, f) => sum + Math.ceil(Math.ceil((width * (f >> 4)) / hMax) / 8) * Math.ceil(Math.ceil((height * (f & 15)) / vMax) / 8), 0);
  const scan = jpegFirstScan(bytes, sof);
  const scanBytes = scan < 0 ? 0 : bytes.length - scan;
  if (blocks > 8 * scanBytes)
    throw new Error(`${name}: the JPEG is truncated or corrupt: its ${scanBytes} bytes of scan data cannot hold the ${blocks} blocks of the ${width} x ${height} pixels its header declares`);
  return { width, height };
}

/** The offset just past the first scan header (SOS) at or after `from`, or -1. */
function jpegFirstScan(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 4 <= bytes.length; ) {
    if (bytes[i] !== 0xff) return -1;
    if (bytes[i + 1] === 0xff) {
      i++;
      continue;
    }
    const next = i + 2 + u16be(bytes, i + 2);
    if (bytes[i + 1] === 0xda) return Math.min(next, bytes.length);
    if (bytes[i + 1] === 0xd9) return -1;
    i = next;
  }
  return -1;
}

/**
 * The offset, marker and declared size of a JPEG's start-of-frame segment, found by
 * walking the segments from the start (each names its length) up to the first SOF marker.
 */
function jpegSof(bytes: Uint8Array, name: string): { width: number; height: number; sof: number; marker: number } {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`${name}: the JPEG is corrupt: no segment marker at byte ${i}`);
    const marker = bytes[i + 1];
    // Fill bytes (0xff repeated) may precede a marker.
    if (marker === 0xff) {
      i++;
      continue;
    }
    // SOF0..SOF15, except DHT (c4), JPG (c8) and DAC (cc), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) break;
      return { height: u16be(bytes, i + 5), width: u16be(bytes, i + 7), sof: i, marker };
    }
    if (marker === 0xd9 || marker === 0xda) break;
    i += 2 + u16be(bytes, i + 2);
  }
  throw new Error(`${name}: the JPEG is truncated or corrupt: no frame header (SOF) before byte ${Math.min(i, bytes.length)}`);
}

/** Refuses an empty or oversized declared size before a decoder allocates for it. */
function checkDeclaredSize(width: number, height: number, format: string, name: string): void {
  if (width === 0 || height === 0) throw new Error(`${name}: the ${format} declares ${width} x ${height} pixels; an image needs at least one pixel`);
  if (width * height > MAX_IMAGE_PIXELS)
    throw new Error(`${name}: the ${format} declares ${width} x ${height} pixels (${((width * height) / 1e6).toFixed(0)} megapixels), more than the ${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} megapixels read; scale it down first`);
}

/** 1, 2 or 4-bit grey samples packed in bytes (rows padded to a byte) spread to one byte each, still on their own scale. */
function unpackGrey(png: DecodedPng): Uint8Array {
  const { width, height, depth } = png;
  const packed = png.data as Uint8Array;
  const rowBytes = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(width * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      out[y * width + x] = (packed[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  return out;
}

/**
 * A decoder's message with its causes ('Error while decompressing the data: invalid block
 * type'), without the trailing colons. A built-in error (a TypeError or RangeError inside
 * the decoder, such as 'Offset is outside the bounds of the DataView') is an inconsistency
 * the decoder does not check, and its text would mean nothing to the reader, so it is
 * reported as such.
 */
function causeChain(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e; x instanceof Error && parts.length < 4; x = x.cause) {
    const builtin = x instanceof TypeError || x instanceof RangeError || x instanceof ReferenceError || x instanceof SyntaxError;
    parts.push(builtin ? 'its data is inconsistent with its headers' : x.message.replace(/:\s*$/, ''));
    if (builtin) break;
  }
  return parts.join(': ') || String(e);
}

function decodePngImage(bytes: Uint8Array, layout: PngLayout, name: string): DecodedImage {
  let png: DecodedPng;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new Error(`${name}: the PNG is truncated or corrupt (${causeChain(e)})`);
  }
  const { width, height } = png;
  if (width !== layout.width || height !== layout.height) throw new Error(`${name}: the PNG is corrupt: it decodes to ${width} x ${height} pixels, not the ${layout.width} x ${layout.height} of its header`);
  // A palette image is colour type 3; a PLTE chunk in an RGB image is only a suggested palette.
  if (layout.colourType === 3) {
    if (!png.palette) throw new Error(`${name}: the PNG is corrupt: a palette image decodes without its palette`);
    let data: Uint8Array;
    try {
      data = convertIndexedToRgb(png);
    } catch (e) {
      // An index past the palette ('Incorrect index of palette color'), or data of another size.
      throw new Error(`${name}: the PNG is truncated or corrupt (${causeChain(e)})`);
    }
    return { width, height, channels: png.palette[0].length === 4 ? 4 : 3, data, maxValue: 255 };
  }
  const channels = png.channels as 1 | 2 | 3 | 4;
  if (png.depth < 8) {
    const packedBytes = Math.ceil((width * png.depth) / 8) * height;
    if (png.data.length !== packedBytes) throw new Error(`${name}: the PNG is corrupt: it decodes to ${png.data.length} bytes, not the ${packedBytes} of ${width} x ${height} ${png.depth}-bit samples`);
    return { width, height, channels, data: unpackGrey(png), maxValue: (1 << png.depth) - 1 };
  }
  if (png.data.length !== width * height * channels) throw new Error(`${name}: the PNG is corrupt: it decodes to ${png.data.length} samples, not ${width} x ${height} x ${channels}`);
  return { width, height, channels, data: png.data, maxValue: png.depth === 16 ? 65535 : 255 };
}

function decodeJpegImage(bytes: Uint8Array, name: string): DecodedImage {
  let jpg: { width: number; height: number; data: Uint8Array };
  try {
    // Strict decoding: a truncated scan is an error, not an image grey at the bottom.
    jpg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
  } catch (e) {
    throw new Error(`${name}: the JPEG is truncated or corrupt (${causeChain(e)})`);
  }
  const { width, height, data } = jpg;
  const channels = data.length / (width * height);
  if (channels !== 1 && channels !== 3) throw new Error(`${name}: the JPEG has ${channels} colour components; only grey and RGB (YCbCr) JPEGs are read`);
  return { width, height, channels, data, maxValue: 255 };
}

/**
 * Decodes PNG or JPEG bytes (recognised by their signature, not by the file name). Throws an
 * Error starting with `name` for another format, an empty or oversized declared size
 * (checked before decoding), or truncated or corrupt data.
 */
export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  const format = imageFormat(bytes);
  if (!format) throw new Error(`${name}: not a PNG or JPEG image (${bytes.length === 0 ? 'the file is empty' : 'its first bytes are neither signature'}); image pipelines read PNG and JPEG`);
  if (format === 'png') return decodePngImage(bytes, pngLayout(bytes, name), name);
  jpegFrame(bytes, name);
  return decodeJpegImage(bytes, name);
}

/**
 * For each output position along one axis, the two source positions and the weight of the
 * second, as PyTorch's bilinear upsampling with `align_corners=False` computes them.
 */
function bilinearTaps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; w: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    lo[d] = i0;
    hi[d] = i0 < inSize - 1 ? i0 + 1 : i0;
    w[d] = s - i0;
  }
  return { lo, hi, w };
}

/**
 * The linear map from a decoded pixel's samples to one pipeline channel: weights per source
 * sample and a constant (alpha 1 where the image has none). Every channel conversion is
 * linear, so converting after the bilinear interpolation equals converting before it.
 */
function channelWeights(from: DecodedImage['channels'], to: number, name: string): { weights: number[]; constant: number }[] {
  const luma = [0.299, 0.587, 0.114];
  const grey = (): number[] => (from >= 3 ? [...luma, 0].slice(0, from) : from === 2 ? [1, 0] : [1]);
  const colour = (c: number): number[] => (from >= 3 ? Array.from({ length: from }, (_, i) => (i === c ? 1 : 0)) : from === 2 ? [1, 0] : [1]);
  const alpha = (): { weights: number[]; constant: number } =>
    from === 2 || from === 4 ? { weights: Array.from({ length: from }, (_, i) => (i === from - 1 ? 1 : 0)), constant: 0 } : { weights: Array.from({ length: from }, () => 0), constant: 1 };
  switch (to) {
    case 1:
      return [{ weights: grey(), constant: 0 }];
    case 2:
      return [{ weights: grey(), constant: 0 }, alpha()];
    case 3:
      return [0, 1, 2].map((c) => ({ weights: colour(c), constant: 0 }));
    case 4:
      return [...[0, 1, 2].map((c) => ({ weights: colour(c), constant: 0 })), alpha()];
    default:
      throw new Error(`${name}: the pipeline reads ${to} image channels; an image gives 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA)`);
  }
}

/**
 * The [channels, height, width] float tensor of `image` for a pipeline reading `shape`:
 * scaled to [0, 1], converted to its channels and resized bilinearly (see the header).
 */
export function imageTensor(image: DecodedImage, shape: ImageShape, name: string): Float32Array {
  const { width: inW, height: inH, channels: from, data, maxValue } = image;
  const { channels, height, width } = shape;
  const maps = channelWeights(from, channels, name);
  const xs = bilinearTaps(inW, width);
  const ys = bilinearTaps(inH, height);
  const out = new Float32Array(channels * height * width);
  maps.forEach(({ weights, constant }, c) => {
    // One pipeline channel of source pixel p, on the decoded scale; computed at the four
    // taps of each output pixel, so no full-size float copy of a large image is made.
    const sample = (p: number): number => {
      let v = constant * maxValue;
      for (let k = 0; k < from; k++) if (weights[k] !== 0) v += weights[k] * data[p * from + k];
      return v;
    };
    const base = c * height * width;
    for (let y = 0; y < height; y++) {
      const r0 = ys.lo[y] * inW;
      const r1 = ys.hi[y] * inW;
      const wy = ys.w[y];
      for (let x = 0; x < width; x++) {
        const x0 = xs.lo[x];
        const x1 = xs.hi[x];
        const wx = xs.w[x];
        const top = (1 - wx) * sample(r0 + x0) + wx * sample(r0 + x1);
        const bottom = (1 - wx) * sample(r1 + x0) + wx * sample(r1 + x1);
        out[base + y * width + x] = ((1 - wy) * top + wy * bottom) / maxValue;
      }
    }
  });
  return out;
}

/** Decodes `bytes` and returns the tensor a pipeline reading `shape` sees (see {@link decodeImage}, {@link imageTensor}). */
export function imageInputTensor(bytes: Uint8Array, shape: ImageShape, name: string): Float32Array {
  return imageTensor(decodeImage(bytes, name), shape, name);
}
