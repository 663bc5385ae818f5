/**
 * WAV decoding of every supported format against torchaudio.load (normalised floats), on
 * files written by scipy.io.wavfile (PCM u8/16/32, float 32/64) and sox (24-bit, and
 * WAVE_FORMAT_EXTENSIBLE multi-channel). Malformed headers must throw a clear Error, and a
 * few thousand random mutations and truncations of valid files must only ever return
 * well-formed audio or throw an Error, with memory bounded by the input size.
 * Tolerance: 1e-7 absolute (both sides produce float32 from the same integers).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeWav16 } from '../../../runtime/wav';
import { pythonHas, runPython } from '../../support/python';

const MAKE_AND_READ = String.raw`
import sys, json, subprocess, os, struct
import numpy as np, scipy.io.wavfile as wf, torchaudio
inp = json.load(sys.stdin)
d = inp['dir']
rng = np.random.default_rng(3)
n = 1500
def sig(ch):
    t = np.arange(n) / 8000.0
    return np.stack([0.8 * np.sin(2 * np.pi * (300 + 200 * c) * t) + 0.1 * rng.standard_normal(n) for c in range(ch)], 1).clip(-1, 0.999)
files = {}
for ch in (1, 2):
    x = sig(ch)
    files[f'u8-{ch}ch.wav'] = (x * 128 + 128).round().clip(0, 255).astype(np.uint8)
    files[f'i16-{ch}ch.wav'] = (x * 32768).round().clip(-32768, 32767).astype(np.int16)
    files[f'i32-{ch}ch.wav'] = (x * 2**31).round().clip(-2**31, 2**31 - 1).astype(np.int32)
    files[f'f32-{ch}ch.wav'] = x.astype(np.float32)
    files[f'f64-{ch}ch.wav'] = x.astype(np.float64)
for name, data in files.items():
    wf.write(os.path.join(d, name), 8000 if '1ch' in name else 22050, data)
# sox: 24-bit PCM (mono and stereo) and 3-channel files, which sox writes as WAVE_FORMAT_EXTENSIBLE.
for src, dst, args in [('f32-1ch.wav', 'i24-1ch.wav', ['-b', '24', '-e', 'signed-integer']),
                       ('f32-2ch.wav', 'i24-2ch.wav', ['-b', '24', '-e', 'signed-integer']),
                       ('f32-1ch.wav', 'ext-i16-3ch.wav', ['-b', '16', '-e', 'signed-integer', '-c', '3']),
                       ('f32-1ch.wav', 'ext-i24-3ch.wav', ['-b', '24', '-e', 'signed-integer', '-c', '3']),
                       ]:
    subprocess.run(['sox', '-D', os.path.join(d, src), *args, os.path.join(d, dst)], check=True)
# sox writes float as plain format 3, so an extensible float file is written here by hand:
# fmt chunk of 40 bytes, tag 0xFFFE, sub-format GUID 00000003-0000-0010-8000-00aa00389b71.
x = sig(4).astype('<f4')
fmt = struct.pack('<HHIIHHHHI', 0xFFFE, 4, 16000, 16000 * 16, 16, 32, 22, 32, 0x33) + struct.pack('<I', 3) + bytes.fromhex('00001000800000aa00389b71')
data = x.tobytes()
with open(os.path.join(d, 'ext-f32-4ch.wav'), 'wb') as f:
    f.write(b'RIFF' + struct.pack('<I', 4 + 8 + len(fmt) + 8 + len(data)) + b'WAVE')
    f.write(b'fmt ' + struct.pack('<I', len(fmt)) + fmt + b'data' + struct.pack('<I', len(data)) + data)
out = {}
for name in sorted(os.listdir(d)):
    w, sr = torchaudio.load(os.path.join(d, name))
    out[name] = {'rate': sr, 'channels': w.numpy().astype(float).tolist()}
print(json.dumps(out))
`;

let dir = '';
let reference: Record<string, { rate: number; channels: number[][] }> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sense-wav-'));
  reference = runPython(MAKE_AND_READ, { dir });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

function header(fields: { tag?: number; channels?: number; rate?: number; blockAlign?: number; bits?: number; dataBytes?: number; dataPresent?: number }): Uint8Array {
  const ch = fields.channels ?? 1;
  const bits = fields.bits ?? 16;
  const dataBytes = fields.dataBytes ?? 8;
  const present = fields.dataPresent ?? dataBytes;
  const b = new Uint8Array(44 + present);
  const v = new DataView(b.buffer);
  const put = (o: number, s: string) => [...s].forEach((c, i) => (b[o + i] = c.charCodeAt(0)));
  put(0, 'RIFF');
  v.setUint32(4, 36 + present, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, fields.tag ?? 1, true);
  v.setUint16(22, ch, true);
  v.setUint32(24, fields.rate ?? 16000, true);
  v.setUint32(28, (fields.rate ?? 16000) * ch * (bits / 8), true);
  v.setUint16(32, fields.blockAlign ?? ch * (bits / 8), true);
  v.setUint16(34, bits, true);
  put(36, 'data');
  v.setUint32(40, dataBytes, true);
  return b;
}

/** A valid copy of `wav` cut to at most `maxBytes`: its data chunk (the last chunk here) is shortened to fit. */
function shrink(wav: Uint8Array, maxBytes: number): Uint8Array {
  const b = wav.slice(0, maxBytes);
  const v = new DataView(b.buffer);
  for (let o = 12; o + 8 <= b.length; o += 8 + v.getUint32(o + 4, true)) {
    if (String.fromCharCode(...b.subarray(o, o + 4)) === 'data') {
      v.setUint32(o + 4, b.length - o - 8, true);
      v.setUint32(4, b.length - 8, true);
      return b;
    }
  }
  throw new Error('no data chunk in the seed file');
}

describe('decodeWav', () => {
  it('has the Python reference modules and sox', () => {
    expect(pythonHas('numpy', 'scipy', 'torchaudio')).toBe(true);
    expect(Object.keys(reference).length).toBe(15);
  });

  it('covers WAVE_FORMAT_EXTENSIBLE in the sox files', () => {
    for (const name of ['ext-i16-3ch.wav', 'ext-i24-3ch.wav', 'ext-f32-4ch.wav']) {
      const b = read(name);
      expect(new DataView(b.buffer, b.byteOffset).getUint16(20, true)).toBe(0xfffe);
    }
  });

  it('decodes every format like torchaudio.load', () => {
    for (const [name, ref] of Object.entries(reference)) {
      const ours = decodeWav(read(name), name);
      expect(ours.sampleRateHz, name).toBe(ref.rate);
      expect(ours.channels.length, name).toBe(ref.channels.length);
      let maxDiff = 0;
      ours.channels.forEach((c, ci) => {
        expect(c.length, name).toBe(ref.channels[ci].length);
        c.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ref.channels[ci][i]))));
      });
      expect(maxDiff, name).toBeLessThan(1e-7);
    }
  });

  it('encodeWav16 writes a file Python reads back', () => {
    const a = new Float32Array([0, 0.5, -0.5, 1, -1, 0.25]);
    const b = new Float32Array([0.1, -0.1, 0.2, -0.2, 0.3, 2]);
    const bytes = encodeWav16([a, b], 11025);
    const py = runPython<{ rate: number; ch: number; width: number; frames: number[] }>(
      String.raw`
import sys, json, wave, io, base64, struct
b = base64.b64decode(json.load(sys.stdin))
w = wave.open(io.BytesIO(b))
raw = w.readframes(w.getnframes())
print(json.dumps({'rate': w.getframerate(), 'ch': w.getnchannels(), 'width': w.getsampwidth(),
                  'frames': list(struct.unpack('<%dh' % (len(raw) // 2), raw))}))`,
      Buffer.from(bytes).toString('base64'),
    );
    expect(py).toEqual({ rate: 11025, ch: 2, width: 2, frames: [0, 3277, 16384, -3277, -16384, 6554, 32767, -6554, -32768, 9830, 8192, 32767] });
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /too short/],
    ['not RIFF', new TextEncoder().encode('ID3\u0004 this is an mp3 file, honestly'), /not a WAV file/],
    ['RIFF but not WAVE', (() => { const b = header({}); b.set([65, 86, 73, 32], 8); return b; })(), /not 'WAVE'/],
    ['RIFX', (() => { const b = header({}); b[3] = 0x58; return b; })(), /RIFX/],
    ['zero channels', header({ channels: 0, blockAlign: 0 }), /0 channels/],
    ['too many channels', header({ channels: 300 }), /300 channels/],
    ['zero rate', header({ rate: 0 }), /sample rate of 0 Hz/],
    ['absurd rate', header({ rate: 0xfffffff0 }), /sample rate of 4294967280 Hz/],
    ['12-bit PCM', header({ bits: 12, blockAlign: 2 }), /12-bit PCM/],
    ['ADPCM', header({ tag: 2 }), /format 0x2 is not supported/],
    ['16-bit float', header({ tag: 3, bits: 16 }), /16-bit float/],
    ['block align mismatch', header({ channels: 2, blockAlign: 3 }), /block align 3/],
    ['data larger than the file', header({ dataBytes: 1000, dataPresent: 8 }), /data chunk declares 1000 bytes but only 8/],
    ['huge data size', header({ dataBytes: 0xffffffff, dataPresent: 8 }), /declares 4294967295 bytes/],
    ['truncated mid-header', header({}).slice(0, 30), /chunk 'fmt ' at byte 12 declares 16 bytes but only 10/],
    ['no data chunk', header({}).slice(0, 36), /no 'data' chunk/],
    ['float NaN', (() => { const b = header({ tag: 3, bits: 32, dataBytes: 8 }); new DataView(b.buffer).setFloat32(48, NaN, true); return b; })(), /sample 1 of channel 1 is NaN/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects a malformed file: ${what}`, () => {
      expect(() => decodeWav(bytes, 'clip.wav')).toThrow(message);
      expect(() => decodeWav(bytes, 'clip.wav')).toThrow(/^clip\.wav: /);
    });
  }

  it('survives thousands of random mutations and truncations', () => {
    const seeds = ['i16-2ch.wav', 'u8-1ch.wav', 'i24-2ch.wav', 'f64-1ch.wav', 'ext-i24-3ch.wav', 'ext-f32-4ch.wav'].map((n) => shrink(read(n), 600));
    for (const seed of seeds) expect(decodeWav(seed, 'seed').channels[0].length).toBeGreaterThan(0);
    let s = 12345;
    const rnd = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    let decoded = 0;
    let rejected = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const src = seeds[iter % seeds.length];
      let b = src.slice();
      const op = rnd(4);
      if (op === 0) b = b.slice(0, rnd(b.length + 1));
      const edits = 1 + rnd(6);
      for (let e = 0; e < edits && b.length > 0; e++) {
        // Header bytes are where the interesting failures live, so most edits land there.
        const at = rnd(4) === 0 ? rnd(b.length) : rnd(Math.min(b.length, 80));
        if (op === 1 && at + 4 <= b.length) new DataView(b.buffer).setUint32(at, [0, 1, 0xffffffff, 0x7fffffff, rnd(2 ** 31)][rnd(5)], true);
        else b[at] = rnd(256);
      }
      try {
        const out = decodeWav(b, 'fuzz.wav');
        decoded++;
        const total = out.channels.reduce((n, c) => n + c.length, 0);
        expect(total).toBeLessThanOrEqual(b.length);
        expect(out.channels.length).toBeGreaterThan(0);
        for (const c of out.channels) {
          expect(c.length).toBe(out.channels[0].length);
          for (const v of c) if (!Number.isFinite(v)) throw new Error('non-finite sample returned');
        }
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^fuzz\.wav: /);
        rejected++;
      }
    }
    expect(decoded).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
