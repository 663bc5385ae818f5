# The reference for runtime/image.ts: writes images with PIL (Debian's python3-pil) and gives
# the tensor each should become, computed independently: PIL decodes (libpng, libjpeg-turbo),
# numpy scales to [0, 1] and converts the channels, and PyTorch's
# torch.nn.functional.interpolate(mode='bilinear', align_corners=False) resizes, which is
# what torchvision's Resize(antialias=False) does on a tensor.
# Reads JSON on stdin: {"dir": folder}; prints [{"file", "channels", "height", "width",
# "data": [...], "pil_grey": [...]?}] for the cases below.
import json, sys
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

rng = np.random.default_rng(13)
out_dir = json.load(sys.stdin)['dir']


def smooth(h, w, c, period=1.0, noise=0.05):
    # A smooth picture plus noise, so resizing errors show and JPEG keeps most of it.
    y, x = np.mgrid[0:h, 0:w] / period
    base = np.stack([np.sin(x / (2 + k) + y / (3 + k) + k) for k in range(c)], -1)
    return np.clip((base * 0.4 + 0.5 + rng.normal(0, noise, (h, w, c))) * 255, 0, 255).astype(np.uint8)


def to_channels(a, to):
    # a: [h, w, c] floats in [0, 1] from the decoded image; returns [to, h, w].
    c = a.shape[2]
    grey = a[..., :3] @ np.array([0.299, 0.587, 0.114]) if c >= 3 else a[..., 0]
    colour = a[..., :3] if c >= 3 else np.repeat(a[..., :1], 3, -1)
    alpha = a[..., c - 1] if c in (2, 4) else np.ones(a.shape[:2])
    planes = {1: [grey], 2: [grey, alpha], 3: list(np.moveaxis(colour, -1, 0)), 4: list(np.moveaxis(colour, -1, 0)) + [alpha]}[to]
    return np.stack(planes)


def expected(path, to, h, w):
    img = Image.open(path)
    img.load()
    if img.mode == 'P':
        img = img.convert('RGBA' if 'transparency' in img.info else 'RGB')
    a = np.array(img)
    scale = {'I;16': 65535.0, 'I': 65535.0, '1': 1.0}.get(img.mode, 255.0)
    a = a.astype(np.float64) / scale
    if a.ndim == 2:
        a = a[..., None]
    x = torch.tensor(to_channels(a, to), dtype=torch.float64)[None]
    if x.shape[2:] != (h, w):
        x = F.interpolate(x, size=(h, w), mode='bilinear', align_corners=False)
    return x[0].reshape(-1).tolist()


cases = []


def case(name, pil_image, to, h, w, **save):
    path = f'{out_dir}/{name}'
    pil_image.save(path, **save)
    entry = {'file': path, 'channels': to, 'height': h, 'width': w, 'data': expected(path, to, h, w)}
    if to == 1 and pil_image.mode == 'RGB' and (h, w) == pil_image.size[::-1]:
        # PIL's own grey conversion (integer BT.601 weights, rounded) for the same pixels.
        entry['pil_grey'] = (np.array(Image.open(path).convert('L'), dtype=np.float64) / 255).reshape(-1).tolist()
    cases.append(entry)


case('rgb-down.png', Image.fromarray(smooth(40, 48, 3)), 3, 32, 32)
case('rgb-up.png', Image.fromarray(smooth(10, 7, 3)), 3, 23, 31)
case('rgb-same.png', Image.fromarray(smooth(12, 9, 3)), 3, 12, 9)
case('rgba-to-rgb.png', Image.fromarray(smooth(20, 17, 4)), 3, 16, 16)
case('rgba-keep.png', Image.fromarray(smooth(20, 17, 4)), 4, 9, 11)
case('grey-to-rgb.png', Image.fromarray(smooth(15, 15, 1)[..., 0]), 3, 8, 8)
case('rgb-to-grey.png', Image.fromarray(smooth(14, 13, 3)), 1, 14, 13)
case('rgb-to-grey-small.png', Image.fromarray(smooth(14, 13, 3)), 1, 5, 6)
case('rgb-to-rgba.png', Image.fromarray(smooth(6, 8, 3)), 4, 6, 8)
case('grey-alpha.png', Image.fromarray(smooth(9, 10, 2), 'LA'), 2, 7, 7)
case('palette.png', Image.fromarray(smooth(18, 21, 3)).convert('P'), 3, 12, 14)
case('grey16.png', Image.fromarray((rng.random((11, 13)) * 65535).astype(np.uint16)), 1, 11, 13)
case('grey16-resized.png', Image.fromarray((rng.random((11, 13)) * 65535).astype(np.uint16)), 1, 5, 4)
case('bits.png', Image.fromarray(rng.random((9, 13)) > 0.5), 1, 9, 13)
case('photo444.jpg', Image.fromarray(smooth(32, 40, 3)), 3, 24, 24, quality=95, subsampling=0)
# 4:2:0 chroma: a slow colour gradient, and a grey picture stored as colour (constant chroma).
case('photo420.jpg', Image.fromarray(smooth(33, 41, 3, period=4, noise=0)), 3, 33, 41, quality=90, subsampling=2)
case('grey420.jpg', Image.fromarray(np.repeat(smooth(33, 41, 1), 3, -1)), 3, 33, 41, quality=90, subsampling=2)
case('grey.jpg', Image.fromarray(smooth(16, 24, 1)[..., 0]), 1, 16, 24, quality=90)
case('progressive.jpg', Image.fromarray(smooth(24, 24, 3)), 3, 24, 24, quality=90, progressive=True, subsampling=0)
print(json.dumps(cases))
