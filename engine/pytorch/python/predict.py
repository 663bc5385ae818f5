"""Runs the trained model on clips, as `sense run` does, and prints JSON.

    python predict.py CLIP... [--weights WEIGHTS.safetensors] [--features]

For each clip: per window, each head's class probabilities (the pipeline's outputs, final
softmax included), and with --features the front end's output; per clip, the mean of the
probabilities over the windows that are not silent (all windows when every one is).
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model import Model  # noqa: E402
from sense_data import DataError, clip_windows, read_safetensors  # noqa: E402
from sense_features import FrontEnd  # noqa: E402


def main():
    with open(os.path.join(HERE, 'pipeline.json')) as f:
        config = json.load(f)
    p = argparse.ArgumentParser(description=f"Run pipeline {config['pipeline']} on clips.")
    p.add_argument('clips', nargs='+')
    p.add_argument('--weights', default=os.path.join(HERE, 'initial.safetensors'))
    p.add_argument('--features', action='store_true', help='print each window\'s features too')
    a = p.parse_args()
    model = Model()
    try:
        state, _ = read_safetensors(a.weights)
        missing = set(model.state_dict()) - set(state)
        if missing:
            raise DataError(f"{a.weights} lacks {', '.join(sorted(missing))}; give weights of this pipeline")
        model.load_state_dict({k: state[k] for k in model.state_dict()})
        model.eval()
        front = FrontEnd(config)
        stats = (model.features.mean, model.features.std) if front.has_normalize() else (None, None)
        threshold = next((s['thresholdDb'] for s in config['features']['steps'] if s['kind'] == 'silence'), None)
        out = []
        for path in a.clips:
            w = torch.from_numpy(clip_windows(path, config))
            feats = front(w, *stats)
            with torch.no_grad():
                probs = model(feats, logits=False)
            level = 10 * torch.log10((w.to(torch.float64) ** 2).mean(dim=-1)) if config['input']['kind'] == 'audio' else None
            silent = [bool(threshold is not None and float(v) < threshold) for v in level] if level is not None else [False] * len(w)
            keep = [i for i, s in enumerate(silent) if not s] or list(range(len(w)))
            windows = [{'silent': silent[i], 'heads': {h: probs[h][i].tolist() for h in probs}, **({'features': feats[i].reshape(-1).tolist()} if a.features else {})} for i in range(len(w))]
            out.append({'clip': path, 'windows': windows, 'heads': {h: probs[h][keep].mean(dim=0).tolist() for h in probs}, 'labels': {h: config['heads'][h]['labels'] for h in probs}})
    except DataError as e:
        sys.exit(f'error: {e}')
    print(json.dumps({'clips': out}))


if __name__ == '__main__':
    main()
