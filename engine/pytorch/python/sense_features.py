"""The pipeline's feature front end in torch/torchaudio, batched over windows, equal to the
runtime's (runtime/features.ts) to float32 rounding. Every step and its convention:

- frames: frame t covers samples [t*hop, t*hop + frame_len); frames that do not fit are
  dropped (no centring). torchaudio's Spectrogram takes frames of n_fft samples with the
  window centred inside them, so the signal is padded by floor((n_fft - frame_len) / 2)
  zeros in front and the rest of n_fft - frame_len behind: the frames then start where the
  runtime's do, and the power spectrum ignores where in the n_fft block the zeros sit.
- window: periodic Hann (torch.hann_window, torchaudio's default).
- power: |FFT|^2 (power=2), bins 0..n_fft/2.
- mel: torchaudio.functional.melscale_fbanks(norm=None, mel_scale='htk'), fmax default rate/2.
- log: ln(mel + 1e-6), written in torch: torchaudio's AmplitudeToDB is 10 log10 with a
  clamp and a top_db cut, not the additive floor the runtime uses.
- mfcc: torchaudio.functional.create_dct(coeffs, bands, 'ortho') over those log-mels;
  torchaudio's MFCC transform would also compute the log itself (log_mels=True adds 1e-6,
  the same), but it recomputes the spectrogram without the padding above, so the steps are
  composed here from the same functions instead.
- deltas: torchaudio.functional.compute_deltas(win_length=5, mode='replicate'); order N
  appends the delta, the delta of the delta, ... along the feature axis.
- normalize: (x - mean) / std per row, with `features.mean` and `features.std`.
- stats: per row, as numpy/scipy define them (std population; median the mean of the two
  middle values, where torch.median returns the lower one; skew and kurtosis the biased
  moment ratios, 0 for a constant row; zcr the fraction of sign changes, zero positive).
- stack: frame j of the stack is rows j*F .. (j+1)*F - 1, time t reads frame t + j.
- silence: only flags the window (the runtime skips the DNN); the features are unchanged.

The spectral steps run in float64, as the runtime does, and the result is float32.
"""
import torch
import torchaudio

#: The additive floor inside the log of mel energies (runtime/features.ts LOG_FLOOR).
LOG_FLOOR = 1e-6


def _stat(name, x):
    """One statistic over the last axis of x [N, R, C] -> [N, R]."""
    mean = x.mean(dim=-1)
    if name == 'mean':
        return mean
    if name == 'std':
        return x.var(dim=-1, unbiased=False).sqrt()
    if name == 'min':
        return x.amin(dim=-1)
    if name == 'max':
        return x.amax(dim=-1)
    if name == 'range':
        return x.amax(dim=-1) - x.amin(dim=-1)
    if name == 'median':
        s = x.sort(dim=-1).values
        n = x.shape[-1]
        return s[..., (n - 1) // 2] if n % 2 else (s[..., n // 2 - 1] + s[..., n // 2]) / 2
    if name == 'energy':
        return (x * x).mean(dim=-1)
    if name == 'rms':
        return (x * x).mean(dim=-1).sqrt()
    if name in ('skew', 'kurtosis'):
        d = x - mean.unsqueeze(-1)
        m2 = (d ** 2).mean(dim=-1)
        # As the runtime: a variance this small relative to the mean square is a constant row.
        constant = m2 <= 1e-24 * (mean * mean + 1e-300)
        safe = torch.where(constant, torch.ones_like(m2), m2)
        v = (d ** 3).mean(dim=-1) / safe ** 1.5 if name == 'skew' else (d ** 4).mean(dim=-1) / (safe * safe) - 3
        return torch.where(constant, torch.zeros_like(v), v)
    if name == 'zcr':
        n = x.shape[-1]
        if n < 2:
            return torch.zeros_like(mean)
        neg = x < 0
        return (neg[..., 1:] != neg[..., :-1]).to(x.dtype).sum(dim=-1) / (n - 1)
    raise ValueError(f'unknown statistic {name!r}')


class FrontEnd:
    """The steps of pipeline.json's `features`, applied to a batch of windows.

    Audio windows are [N, samples] at the input's rate; inertial windows [N, axes, samples].
    """

    def __init__(self, config):
        self.input = config['input']
        self.steps = config['features']['steps']
        self.output_shape = config['features']['outputShape']
        self.rate = self.input['rateHz']
        self._mel = {}

    def has_normalize(self):
        return any(s['kind'] == 'normalize' for s in self.steps)

    def __call__(self, windows, mean=None, std=None, upto_normalize=False):
        """Features [N, *outputShape] (float32); with upto_normalize, the tensor the normalize step sees."""
        x = windows.to(torch.float64)
        if x.dim() == 2:
            x = x.unsqueeze(1)
        framing = None
        frames_pending = False
        for step in self.steps:
            kind = step['kind']
            if frames_pending and kind not in ('logmel', 'mfcc', 'silence'):
                x = self._frames(x, framing)
                frames_pending = False
            if kind in ('silence', 'raw'):
                continue
            if kind == 'normalize':
                if upto_normalize:
                    return x.to(torch.float32)
                if mean is None or std is None:
                    raise ValueError('the pipeline normalises its features: give the features.mean and features.std statistics')
                shape = [1, -1] + [1] * (x.dim() - 2)
                x = (x - mean.to(torch.float64).view(shape)) / std.to(torch.float64).view(shape)
            elif kind == 'frames':
                framing = step
                frames_pending = True
            elif kind in ('logmel', 'mfcc'):
                x = self._log_mel(x[:, 0], framing, step)
                frames_pending = False
                if kind == 'mfcc':
                    dct = torchaudio.functional.create_dct(step['coeffs'], step['bands'], 'ortho').to(torch.float64)
                    x = torch.matmul(x.transpose(1, 2), dct).transpose(1, 2)
                    x = self._deltas(x, step['deltas'])
            elif kind == 'deltas':
                x = self._deltas(x, step['order'])
            elif kind == 'stats':
                x = torch.stack([_stat(s, x) for s in step['stats']], dim=-1).reshape(x.shape[0], -1)
            elif kind == 'stack':
                n, t = step['frames'], x.shape[2]
                x = torch.cat([x[:, :, j:j + t - n + 1] for j in range(n)], dim=1)
            else:
                raise ValueError(f'unknown feature step {kind!r}')
        if frames_pending:
            x = self._frames(x, framing)
        if upto_normalize:
            raise ValueError('the pipeline has no normalize step')
        x = x.to(torch.float32)
        if list(x.shape[1:]) != list(self.output_shape):
            raise ValueError(f'front end computed {list(x.shape[1:])} but the pipeline expects {self.output_shape}')
        return x

    @staticmethod
    def _frames(x, framing):
        """[N, 1, samples] -> [N, frame_len, frames], the runtime's materialised frame matrix."""
        return x[:, 0].unfold(-1, framing['frameLen'], framing['hop']).transpose(1, 2)

    def _log_mel(self, signal, framing, step):
        n_fft, frame_len, hop = framing['fftSize'], framing['frameLen'], framing['hop']
        front = (n_fft - frame_len) // 2
        padded = torch.nn.functional.pad(signal, (front, n_fft - frame_len - front))
        spec = torchaudio.transforms.Spectrogram(
            n_fft=n_fft, win_length=frame_len, hop_length=hop, center=False, power=2.0,
            window_fn=torch.hann_window, wkwargs={'dtype': torch.float64},
        )(padded)
        key = (n_fft, step['bands'], step['fminHz'], step['fmaxHz'])
        if key not in self._mel:
            self._mel[key] = torchaudio.functional.melscale_fbanks(
                n_fft // 2 + 1, float(step['fminHz']), float(step['fmaxHz']), step['bands'], int(self.rate), None, 'htk'
            ).to(torch.float64)
        mel = torch.matmul(spec.transpose(1, 2), self._mel[key]).transpose(1, 2)
        return torch.log(mel + LOG_FLOOR)

    @staticmethod
    def _deltas(x, order):
        blocks = [x]
        for _ in range(order):
            blocks.append(torchaudio.functional.compute_deltas(blocks[-1], win_length=5, mode='replicate'))
        return torch.cat(blocks, dim=1)
