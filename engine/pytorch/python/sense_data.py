"""Reading what `sense train` reads, the way the runtime reads it: labelled clip folders
DATA/HEAD/LABEL/*.wav (audio) or *.csv (inertial), cut into the pipeline's windows; noise
mixing at a chosen SNR (engine/train/signal.ts mixAtSnr); and safetensors files in the
pipeline's naming. Bad input raises DataError naming the file and what to do.

- WAV: RIFF/WAVE, PCM 8 (unsigned), 16, 24, 32-bit and float 32/64, WAVE_FORMAT_EXTENSIBLE;
  integers scaled by the container's full scale (runtime/wav.ts); channels averaged.
- Other sample rates: scipy.signal.resample_poly(x, up, down) with its defaults, which is
  what runtime/resample.ts implements (and is tested against).
- Inertial CSV: `#` comments and blank lines, a header naming t, ax..az, gx..gz, mx..mz, p;
  with `t`, columns interpolated linearly onto t0 + k / rate (runtime/inertial.ts).
- Windows: round(rate * window) samples every max(1, round(rate * hop)); a short audio clip
  gives one zero-padded window, a short inertial recording is an error.
"""
import json
import math
import os
import struct
from fractions import Fraction

import numpy as np
import torch

COLUMNS = {
    'accelerometer': {'x': 'ax', 'y': 'ay', 'z': 'az'},
    'gyroscope': {'x': 'gx', 'y': 'gy', 'z': 'gz'},
    'magnetometer': {'x': 'mx', 'y': 'my', 'z': 'mz'},
    'barometer': {'x': 'p', 'pressure': 'p'},
}
KNOWN_COLUMNS = {'t', 'ax', 'ay', 'az', 'gx', 'gy', 'gz', 'mx', 'my', 'mz', 'p'}


class DataError(Exception):
    """A problem with the user's data, with a message that names the file."""


def read_wav(path):
    """(rate_hz, mono float32 numpy array) of a WAV file, channels averaged."""
    with open(path, 'rb') as f:
        b = f.read()
    if len(b) < 12 or b[:4] != b'RIFF' or b[8:12] != b'WAVE':
        raise DataError(f'{path}: not a RIFF/WAVE file')
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], struct.unpack('<I', b[pos + 4:pos + 8])[0]
        body = b[pos + 8:pos + 8 + size]
        if len(body) < size:
            # runtime/wav.ts refuses a truncated file rather than play what is left; so does this.
            raise DataError(f"{path}: chunk '{cid.decode('latin-1')}' declares {size} bytes but the file holds {len(body)}; the file is truncated")
        if cid == b'fmt ':
            if size < 16:
                raise DataError(f'{path}: fmt chunk of {size} bytes is too short')
            fmt = struct.unpack('<HHIIHH', body[:16])
            if fmt[0] == 0xFFFE and size >= 26:
                fmt = (struct.unpack('<H', body[24:26])[0],) + fmt[1:]
        elif cid == b'data':
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise DataError(f'{path}: no fmt or data chunk')
    code, channels, rate, _, _, bits = fmt
    if channels < 1 or not 1 <= rate <= 1_000_000:
        raise DataError(f'{path}: {channels} channels at {rate} Hz is not a valid WAV header')
    width = bits // 8
    usable = len(data) - len(data) % (width * channels)
    raw = data[:usable]
    if code == 1 and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128
    elif code == 1 and bits == 16:
        x = np.frombuffer(raw, '<i2').astype(np.float64) / 2 ** 15
    elif code == 1 and bits == 24:
        u = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = u[:, 0] | (u[:, 1] << 8) | (u[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / 2 ** 23
    elif code == 1 and bits == 32:
        x = np.frombuffer(raw, '<i4').astype(np.float64) / 2 ** 31
    elif code == 3 and bits in (32, 64):
        x = np.frombuffer(raw, '<f4' if bits == 32 else '<f8').astype(np.float64)
    else:
        raise DataError(f'{path}: WAV format {code} with {bits} bits per sample is not supported (PCM 8/16/24/32 or float 32/64)')
    if not np.all(np.isfinite(x)):
        raise DataError(f'{path}: the WAV holds non-finite samples')
    x = x.astype(np.float32).reshape(-1, channels)
    mono = x[:, 0] if channels == 1 else (x.sum(axis=1, dtype=np.float32) / np.float32(channels)).astype(np.float32)
    return rate, mono


def mono_at(path, rate_hz):
    """The clip mono at the pipeline's rate (float32)."""
    rate, x = read_wav(path)
    if rate == rate_hz:
        return x
    from scipy.signal import resample_poly
    ratio = Fraction(int(rate_hz), int(rate))
    return resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator).astype(np.float32)


def read_inertial(path, inp):
    """One float32 row per axis the input lists, at its rate."""
    header, rows, times = None, [], []
    with open(path, encoding='utf-8-sig') as f:
        for line_no, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith('#'):
                continue
            fields = line.rstrip('\r\n').split(',')
            if header is None:
                header = [h.strip().strip('"').strip().lower() for h in fields]
                continue
            if len(fields) != len(header):
                raise DataError(f'{path}, line {line_no}: {len(fields)} fields, but the header has {len(header)}')
            try:
                values = [float(v) if h in KNOWN_COLUMNS else 0.0 for h, v in zip(header, fields)]
            except ValueError:
                raise DataError(f'{path}, line {line_no}: a sensor column holds something that is not a number') from None
            if not all(math.isfinite(v) for v in values):
                raise DataError(f'{path}, line {line_no}: a sensor column holds a non-finite number')
            rows.append(values)
    if header is None or not rows:
        raise DataError(f'{path}: no header or no data rows')
    table = np.array(rows, dtype=np.float64)
    col = {h: table[:, i] for i, h in enumerate(header) if h in KNOWN_COLUMNS}
    rate = inp['rateHz']
    if 't' in col:
        t = col['t']
        if np.any(np.diff(t) <= 0):
            raise DataError(f'{path}: the t column does not increase')
        n = int(math.floor((t[-1] - t[0]) * rate + 1e-9)) + 1
        grid = t[0] + np.arange(n) / rate
        col = {k: np.interp(grid, t, v) for k, v in col.items() if k != 't'}
    out = []
    for sensor in inp['sensors']:
        names = COLUMNS[sensor['kind']]
        for axis in sensor['axes']:
            need = [names['x'], names.get('y'), names.get('z')] if axis == 'magnitude' and sensor['kind'] != 'barometer' else [names.get(axis, names['x'])]
            for c in need:
                if c not in col:
                    raise DataError(f"{path}: the pipeline reads the {sensor['kind']} {axis} axis but the CSV has no '{c}' column")
            if axis == 'magnitude':
                v = np.abs(col[need[0]]) if len(need) == 1 else np.sqrt(sum(col[c] ** 2 for c in need))
            else:
                v = col[need[0]]
            out.append(v.astype(np.float32))
    return np.stack(out)


def clip_windows(path, config):
    """The pipeline's windows of one clip: [W, samples] (audio) or [W, axes, samples] (inertial), float32 numpy."""
    inp = config['input']
    length, hop = inp['windowSamples'], inp['hopSamples']
    if inp['kind'] == 'audio':
        x = mono_at(path, inp['rateHz'])
        if len(x) < length:
            return np.pad(x, (0, length - len(x)))[None, :]
        return np.stack([x[s:s + length] for s in range(0, len(x) - length + 1, hop)])
    rows = read_inertial(path, inp)
    if rows.shape[1] < length:
        raise DataError(f"{path}: {rows.shape[1]} samples at {inp['rateHz']} Hz is shorter than one window ({length} samples)")
    return np.stack([rows[:, s:s + length] for s in range(0, rows.shape[1] - length + 1, hop)])


def labelled_clips(data_dir, config):
    """[(path, head, class index)] for DATA/HEAD/LABEL/*.wav|csv, checked as `sense train` checks them."""
    if not os.path.isdir(data_dir):
        raise DataError(f'{data_dir}: no such folder; give a data folder laid out as HEAD/LABEL/clip files')
    ext = '.wav' if config['input']['kind'] == 'audio' else '.csv'
    out = []
    for head, spec in config['heads'].items():
        head_dir = os.path.join(data_dir, head)
        if not os.path.isdir(head_dir):
            continue
        folders = sorted(n for n in os.listdir(head_dir) if not n.startswith('.') and os.path.isdir(os.path.join(head_dir, n)))
        labels = spec['labels']
        if labels is None:
            if len(folders) != spec['classes']:
                raise DataError(f"{head_dir}: head {head} has {spec['classes']} outputs but the folder holds {len(folders)} label folders; give the head 'labels [...]' or make the folders match")
            labels = folders
        for folder in folders:
            if folder not in labels:
                raise DataError(f"{head_dir}: folder '{folder}' is not a label of head {head} (labels: {', '.join(labels)})")
            label_dir = os.path.join(head_dir, folder)
            for name in sorted(os.listdir(label_dir)):
                path = os.path.join(label_dir, name)
                if not name.startswith('.') and name.lower().endswith(ext) and os.path.isfile(path):
                    out.append((path, head, labels.index(folder)))
    if not out:
        raise DataError(f"{data_dir}: no clips for any head ({', '.join(config['heads'])}); expected {data_dir}/HEAD/LABEL/*{ext}")
    return out


def noise_signals(noise_dir, rate_hz):
    """Every WAV under noise_dir (recursively, sorted), mono at rate_hz; silent ones dropped."""
    files = sorted(os.path.join(d, n) for d, _, names in os.walk(noise_dir) for n in names if n.lower().endswith('.wav'))
    if not files:
        raise DataError(f'--noise-dir {noise_dir}: no .wav files in it or its subfolders')
    signals = [s for s in (mono_at(f, rate_hz) for f in files) if np.any(s != 0)]
    if not signals:
        raise DataError(f'--noise-dir {noise_dir}: every WAV is silent; noise must have energy to set an SNR')
    return signals


def mix_at_snr(clean, noise, snr_db):
    """clean + noise scaled to snr_db (20 log10 of the RMS ratio), then scaled down if the peak passes 0.99 (engine/train/signal.ts)."""
    fitted = np.resize(noise, clean.shape).astype(np.float64)
    c = clean.astype(np.float64)
    gain = math.sqrt(np.mean(c ** 2)) / (math.sqrt(np.mean(fitted ** 2)) * 10 ** (snr_db / 20))
    out = c + gain * fitted
    peak = np.max(np.abs(out))
    return (out * (0.99 / peak) if peak > 0.99 else out).astype(np.float32)


def read_safetensors(path):
    """{name: float32 tensor} and the metadata of a safetensors file (F32, F64, F16, BF16 entries)."""
    with open(path, 'rb') as f:
        b = f.read()
    if len(b) < 8:
        raise DataError(f'{path}: too short for a safetensors header')
    n = struct.unpack('<Q', b[:8])[0]
    if 8 + n > len(b):
        raise DataError(f'{path}: the header claims {n} bytes but the file is shorter')
    header = json.loads(b[8:8 + n])
    meta = header.pop('__metadata__', {})
    dtypes = {'F32': np.float32, 'F64': np.float64, 'F16': np.float16}
    out = {}
    for name, e in header.items():
        lo, hi = e['data_offsets']
        raw = b[8 + n + lo:8 + n + hi]
        if e['dtype'] == 'BF16':
            arr = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)
        elif e['dtype'] in dtypes:
            arr = np.frombuffer(raw, np.dtype(dtypes[e['dtype']]).newbyteorder('<'))
        else:
            raise DataError(f"{path}: tensor '{name}' has dtype {e['dtype']}; expected F32, F64, F16 or BF16")
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(e['shape']).copy())
    return out, meta


def write_safetensors(path, tensors, metadata):
    """Writes float32 tensors (sorted by name) with string metadata, atomically (a temporary file renamed)."""
    header, chunks, offset = {'__metadata__': {k: str(v) for k, v in metadata.items()}}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().cpu().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
    os.replace(tmp, path)
