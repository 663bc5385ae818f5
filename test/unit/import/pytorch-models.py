# PyTorch models for the import tests, exported to ONNX by torch.onnx.export and evaluated
# by PyTorch itself on the features the test gives (the reference). Reads JSON on stdin:
# {"dir": folder, "opset": n, "features": {"watch": [...], "logmel": [...]}}; writes each
# model to DIR/NAME.onnx (and the 2-D CNN's image to DIR/cnn2d.png) and prints
# {NAME: {"outputs": {head: [...]}, "input": [...], "params": n}}.
import json, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

torch.manual_seed(0)


def stats(bn, eps=None):
    # Running statistics away from their defaults, so a batchnorm the importer drops or misreads shows.
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    if eps is not None:
        bn.eps = eps
    return bn


class Mlp(nn.Module):
    """A shared trunk and three heads over 60 inertial statistics."""
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(60, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.ReLU())
        self.activity = nn.Sequential(nn.Linear(16, 5), nn.Softmax(-1))
        self.transport = nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4), nn.Softmax(-1))
        self.place = nn.Sequential(nn.Linear(16, 2), nn.Sigmoid())

    def forward(self, x):
        h = self.trunk(x)
        return self.activity(h), self.transport(h), self.place(h)


class Cnn1d(nn.Module):
    """Convolutions over 40 log-mel bands x 98 frames, batchnorm after pooling (so export cannot fold it)."""
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(40, 16, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), stats(nn.BatchNorm1d(16), 1e-3),
            nn.Conv1d(16, 12, 5), nn.LeakyReLU(), nn.AvgPool1d(3, stride=2), nn.Conv1d(12, 8, 3, stride=2), nn.GELU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 3), nn.Softmax(-1))

    def forward(self, x):
        return self.net(x)


class Recurrent(nn.Module):
    """A batch_first GRU or LSTM over the frames (the model permutes [N, bands, frames] itself)."""
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.rnn = (nn.GRU if kind == 'gru' else nn.LSTM)(40, 24, batch_first=True)
        self.fc = nn.Linear(24, 4)

    def forward(self, x):
        out, h = self.rnn(x.permute(0, 2, 1))
        if self.kind == 'gru':
            last = h[-1]          # the last state, as ONNX's Y_h
        else:
            last = out[:, -1, :]  # the last step of the sequence, as ONNX's Y
        return torch.softmax(self.fc(last), -1)


class Cnn2d(nn.Module):
    """A small image classifier on 3 x 32 x 32 with two heads: digit ends in Softmax, colour in logits."""
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), stats(nn.BatchNorm2d(8)),
            nn.Conv2d(8, 12, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten())
        self.digit = nn.Sequential(nn.Linear(12 * 7 * 7, 10), nn.Softmax(-1))
        self.colour = nn.Sequential(nn.Linear(12 * 7 * 7, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        h = self.net(x)
        return self.digit(h), self.colour(h)


def image_input(path, height=45, width=38, size=32):
    """Writes a height x width RGBA PNG and returns what the imported pipeline must feed the model:
    PIL's decoded pixels, alpha dropped, scaled to [0, 1], resized to size x size by PyTorch's
    bilinear interpolation without antialiasing (torchvision's Resize(antialias=False))."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([np.sin(x / (3 + k) + y / (4 + k) + k) for k in range(4)], -1) * 0.45 + 0.5
    pixels = np.clip(pixels + np.random.default_rng(7).normal(0, 0.05, pixels.shape), 0, 1)
    Image.fromarray((pixels * 255).astype(np.uint8), 'RGBA').save(path)
    decoded = np.array(Image.open(path).convert('RGBA'))[..., :3].astype(np.float32) / 255
    chw = torch.tensor(decoded).permute(2, 0, 1)[None]
    return F.interpolate(chw, size=(size, size), mode='bilinear', align_corners=False)


class ImageGaps(nn.Module):
    """Conv biases written as their own Add (a conv without bias, and one with both), and a
    softmax output that another head also reads (its head must not get a second softmax)."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, bias=False)
        self.bias1 = nn.Parameter(torch.randn(6, 1, 1))
        self.conv2 = nn.Conv2d(6, 4, 3)
        self.bias2 = nn.Parameter(torch.randn(1, 4, 1, 1))
        self.fc = nn.Linear(4 * 5 * 5, 5)
        self.refine = nn.Linear(5, 3)

    def forward(self, x):
        h = torch.relu(self.conv1(x) + self.bias1)
        h = F.max_pool2d(h, 2)
        h = torch.tanh(self.conv2(h) + self.bias2)
        probs = torch.softmax(self.fc(h.flatten(1)), -1)
        return probs, self.refine(probs)


class GruSlice(nn.Module):
    """A GRU whose last step is taken with a Slice (out[:, -1:, :]), not a Gather."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(40, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.rnn(x.permute(0, 2, 1))
        return torch.softmax(self.fc(out[:, -1:, :].flatten(1)), -1)


class BiRnn(nn.Module):
    """A bidirectional GRU or LSTM, which the language lacks."""
    def __init__(self, kind):
        super().__init__()
        self.rnn = (nn.GRU if kind == 'gru' else nn.LSTM)(40, 8, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.rnn(x.permute(0, 2, 1))
        return torch.softmax(self.fc(out[:, -1, :]), -1)


class SliceData(nn.Module):
    """A Slice that drops frames of the data, which the language cannot state."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(40 * 90, 3)

    def forward(self, x):
        return torch.softmax(self.fc(x[:, :, 8:].flatten(1)), -1)


class Unsupported(nn.Module):
    """Ops the language lacks (Abs, LayerNormalization) and a residual join."""
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(60, 16)
        self.b = nn.Linear(16, 16)
        self.norm = nn.LayerNorm(16)
        self.c = nn.Linear(16, 3)

    def forward(self, x):
        h = self.a(x)
        h = torch.abs(h + self.b(h))
        return torch.softmax(self.c(self.norm(h)), -1)


data = json.load(sys.stdin)
features = {k: torch.tensor(v['data'], dtype=torch.float32).reshape(1, *v['shape']) for k, v in data['features'].items()}
features['image'] = image_input(f"{data['dir']}/cnn2d.png")
features['small'] = image_input(f"{data['dir']}/gaps.png", 20, 24, 16)
models = [
    ('mlp', Mlp(), 'watch', ['activity', 'transport', 'place']),
    ('cnn1d', Cnn1d(), 'logmel', ['scene']),
    ('gru', Recurrent('gru'), 'logmel', ['speaker']),
    ('lstm', Recurrent('lstm'), 'logmel', ['speaker']),
    ('cnn2d', Cnn2d(), 'image', ['digit', 'colour']),
    ('gaps', ImageGaps(), 'small', ['probs', 'refined']),
    ('gru_slice', GruSlice(), 'logmel', ['speaker']),
    ('bigru', BiRnn('gru'), 'logmel', ['speaker']),
    ('bilstm', BiRnn('lstm'), 'logmel', ['speaker']),
    ('slice_data', SliceData(), 'logmel', ['scene']),
    ('unsupported', Unsupported(), 'watch', ['y']),
]
result = {}
for name, model, feature, outputs in models:
    model.eval()
    x = features[feature]
    torch.onnx.export(model, x, f"{data['dir']}/{name}.onnx", input_names=['x'], output_names=outputs,
                      dynamic_axes={'x': {0: 'N'}, **{o: {0: 'N'} for o in outputs}}, opset_version=data['opset'])
    with torch.no_grad():
        y = model(x)
    y = y if isinstance(y, tuple) else (y,)
    # Parameters and batchnorm running statistics: what the imported weights file holds.
    params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if 'running' in n)
    result[name] = {'outputs': {o: t.reshape(-1).tolist() for o, t in zip(outputs, y)}, 'input': x.reshape(-1).tolist(), 'params': params}
print(json.dumps(result))
