"""The layers of a Sense pipeline as torch modules, with the exact semantics of its ONNX
export (engine/onnx/export-onnx.ts) and of `sense train` (engine/train/network.ts).

Parameter names and layouts are the pipeline's weights-file names (engine/weights/weights.ts),
so a module's state_dict is the safetensors file `sense run` and `sense export` read:
dense `weight` [units, in] and `bias`; conv `weight` [filters, channels, *kernel] and `bias`;
batchnorm `scale`, `bias` and the buffers `mean`, `var`; gru/lstm `W` [1, G*h, in],
`R` [1, G*h, h], `B` [1, 2*G*h] with ONNX gate order (gru z, r, h with linear_before_reset;
lstm i, o, f, c). Tensors are channels-first with the batch first, as the pipeline's shapes.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

#: Epsilon of every batchnorm layer (engine/weights/weights.ts BATCHNORM_EPSILON).
BATCHNORM_EPSILON = 1e-5
#: Running statistics: running = MOMENTUM * running + (1 - MOMENTUM) * batch (engine/train/network.ts).
BATCHNORM_MOMENTUM = 0.9
#: Slope of leakyrelu for negative inputs (the ONNX export's LeakyRelu alpha).
LEAKY_RELU_ALPHA = 0.01


def activation(x, name):
    """Applies the named activation; softmax acts on the last axis, gelu is the erf form."""
    if name is None or name == 'linear':
        return x
    if name == 'relu':
        return torch.relu(x)
    if name == 'sigmoid':
        return torch.sigmoid(x)
    if name == 'tanh':
        return torch.tanh(x)
    if name == 'softmax':
        return torch.softmax(x, dim=-1)
    if name == 'elu':
        return F.elu(x, alpha=1.0)
    if name == 'leakyrelu':
        return F.leaky_relu(x, LEAKY_RELU_ALPHA)
    if name == 'gelu':
        # The export writes x * 0.5 * (1 + erf(x / sqrt 2)) (opset 17 has no Gelu); F.gelu's default is the same erf form.
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    raise ValueError(f'unknown activation {name!r}')


def same_pads(spatial, kernel, stride):
    """TensorFlow's SAME padding per spatial axis as (before, after), the smaller half first, as the export pads."""
    pads = []
    for length, k in zip(spatial, kernel):
        total = max(0, (math.ceil(length / stride) - 1) * stride + k - length)
        pads.append((total // 2, total - total // 2))
    return pads


def pad_spatial(x, pads, value=0.0):
    """Pads the trailing spatial axes of x by [(before, after), ...] in axis order (F.pad wants them last axis first)."""
    flat = []
    for before, after in reversed(pads):
        flat += [before, after]
    return F.pad(x, flat, value=value) if any(flat) else x


class Layer(nn.Module):
    """A layer with its fused activation, which a head's final softmax may skip (training takes logits)."""

    def __init__(self, act=None):
        super().__init__()
        self.act = act

    def forward(self, x, skip_softmax=False):
        y = self.core(x)
        act = None if skip_softmax and self.act == 'softmax' else self.act
        return activation(y, act)

    def core(self, x):
        return x


class Dense(Layer):
    """`dense N`: x @ W^T + b on the last axis (Gemm on [N, in], MatMul + Add on higher ranks)."""

    def __init__(self, in_width, units, act=None):
        super().__init__(act)
        self.weight = nn.Parameter(torch.zeros(units, in_width))
        self.bias = nn.Parameter(torch.zeros(units))

    def core(self, x):
        return torch.matmul(x, self.weight.t()) + self.bias


class Conv(Layer):
    """`conv1d`/`conv2d`: cross-correlation, stride on every axis, `same` padding as TensorFlow's SAME_UPPER."""

    def __init__(self, channels, filters, kernel, stride, padding, spatial, act=None):
        super().__init__(act)
        self.weight = nn.Parameter(torch.zeros(filters, channels, *kernel))
        self.bias = nn.Parameter(torch.zeros(filters))
        self.stride = stride
        self.pads = same_pads(spatial, kernel, stride) if padding == 'same' else [(0, 0)] * len(kernel)

    def core(self, x):
        x = pad_spatial(x, self.pads)
        conv = F.conv1d if self.weight.dim() == 3 else F.conv2d
        return conv(x, self.weight, self.bias, stride=self.stride)


class Pool(Layer):
    """`maxpool`/`avgpool`: ONNX MaxPool / AveragePool (count_include_pad = 0), global ones reduce every spatial axis."""

    def __init__(self, kind, size, stride, padding, spatial, is_global, act=None):
        super().__init__(act)
        self.kind, self.is_global = kind, is_global
        self.size, self.stride = size, stride
        self.pads = same_pads(spatial, size, stride) if padding == 'same' and not is_global else [(0, 0)] * len(size)

    def core(self, x):
        dims = tuple(range(2, x.dim()))
        if self.is_global:
            return x.amax(dim=dims) if self.kind == 'max' else x.mean(dim=dims)
        two_d = x.dim() == 4
        if self.kind == 'max':
            # Padded positions never win a max: pad with -inf, as ONNX MaxPool ignores its pads.
            xp = pad_spatial(x, self.pads, value=-math.inf)
            pool = F.max_pool2d if two_d else F.max_pool1d
            return pool(xp, self.size, self.stride)
        # count_include_pad = 0 with asymmetric pads: the window sum over the zero-padded
        # input divided by the number of real samples in the window.
        pool = F.avg_pool2d if two_d else F.avg_pool1d
        xp = pad_spatial(x, self.pads)
        ones = pad_spatial(torch.ones_like(x[:1, :1]), self.pads)
        return pool(xp, self.size, self.stride) / pool(ones, self.size, self.stride)


class BatchNorm(Layer):
    """`batchnorm`: (x - mean) / sqrt(var + eps) * scale + bias over axis 1; batch statistics (biased variance) in training."""

    def __init__(self, channels, act=None):
        super().__init__(act)
        self.scale = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer('mean', torch.zeros(channels))
        self.register_buffer('var', torch.ones(channels))

    def core(self, x):
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        if self.training:
            axes = [i for i in range(x.dim()) if i != 1]
            mean = x.mean(dim=axes)
            var = x.var(dim=axes, unbiased=False)
            # `sense train` moves the running statistics by the biased batch variance (tf.moments); so does this.
            with torch.no_grad():
                self.mean.mul_(BATCHNORM_MOMENTUM).add_(mean.detach(), alpha=1 - BATCHNORM_MOMENTUM)
                self.var.mul_(BATCHNORM_MOMENTUM).add_(var.detach(), alpha=1 - BATCHNORM_MOMENTUM)
        else:
            mean, var = self.mean, self.var
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + BATCHNORM_EPSILON)
        return y * self.scale.view(shape) + self.bias.view(shape)


class Recurrent(Layer):
    """`gru`/`lstm` over [N, features, steps]: the last state [N, units], or with `sequences` [N, units, steps].

    The recurrence is written out step by step in ONNX's gate order rather than calling
    nn.GRU/nn.LSTM, whose gate blocks are ordered r, z, n and i, f, g, o: keeping the
    weights in the pipeline's layout means the state_dict is the weights file as it is.
    """

    def __init__(self, kind, in_width, units, sequences, act=None):
        super().__init__(act)
        gates = 3 if kind == 'gru' else 4
        self.kind, self.units, self.sequences, self.gates = kind, units, sequences, gates
        self.W = nn.Parameter(torch.zeros(1, gates * units, in_width))
        self.R = nn.Parameter(torch.zeros(1, gates * units, units))
        self.B = nn.Parameter(torch.zeros(1, 2 * gates * units))

    def core(self, x):
        g, h = self.gates, self.units
        W, R = self.W[0], self.R[0]
        Wb, Rb = self.B[0, : g * h], self.B[0, g * h:]
        n = x.shape[0]
        # All input projections at once: [N, T, G*h].
        xw = torch.matmul(x.transpose(1, 2), W.t()) + Wb
        H = x.new_zeros(n, h)
        C = x.new_zeros(n, h)
        outs = []
        for t in range(x.shape[2]):
            xs = xw[:, t].split(h, dim=1)
            hs = (torch.matmul(H, R.t()) + Rb).split(h, dim=1)
            if self.kind == 'gru':
                z = torch.sigmoid(xs[0] + hs[0])
                r = torch.sigmoid(xs[1] + hs[1])
                cand = torch.tanh(xs[2] + r * hs[2])
                H = (1 - z) * cand + z * H
            else:
                i = torch.sigmoid(xs[0] + hs[0])
                o = torch.sigmoid(xs[1] + hs[1])
                f = torch.sigmoid(xs[2] + hs[2])
                c = torch.tanh(xs[3] + hs[3])
                C = f * C + i * c
                H = o * torch.tanh(C)
            outs.append(H)
        return torch.stack(outs, dim=2) if self.sequences else H


class Flatten(Layer):
    """`flatten`: [N, ...] to [N, prod(...)], row-major (ONNX Flatten axis 1)."""

    def core(self, x):
        return x.reshape(x.shape[0], -1)


class Dropout(Layer):
    """`dropout P`: inverted dropout in training, the identity at inference (the export writes Identity)."""

    def __init__(self, rate, act=None):
        super().__init__(act)
        self.rate = rate

    def core(self, x):
        return F.dropout(x, self.rate, self.training) if self.rate > 0 else x


class Activation(Layer):
    """A standalone activation line (`relu` on its own)."""


class Block(nn.ModuleDict):
    """A shared block or head: its layers under their 1-based index, so names read `encoder.2.weight`."""

    def forward(self, x, final_softmax=True):
        layers = list(self.values())
        for i, layer in enumerate(layers):
            x = layer(x, skip_softmax=not final_softmax and i == len(layers) - 1)
        return x


class FeatureStats(nn.Module):
    """The `normalize` step's statistics, `features.mean` and `features.std`, kept in the state_dict with the layers."""

    def __init__(self, rows):
        super().__init__()
        self.register_buffer('mean', torch.zeros(rows))
        self.register_buffer('std', torch.ones(rows))
