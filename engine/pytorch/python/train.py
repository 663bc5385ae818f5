"""Trains the pipeline as `sense train` does, on one process or many.

    python train.py --data DIR --epochs N --out WEIGHTS.safetensors
    torchrun --nproc_per_node 4 train.py --data DIR --epochs N --out WEIGHTS.safetensors

The method is `sense train`'s (engine/train/trainer.ts): the shared blocks and every head
jointly; per head, softmax cross-entropy averaged over the samples labelled for that head,
summed over heads; Adam; the same held-out split (stratified per head and label, the same
seeded generator, so the same clips are held out); normalisation statistics fitted on the
training split; early stopping on the validation loss, keeping the best epoch; noise mixed
into the chosen heads' clips at a random SNR each epoch (--noise-dir, --snr).

Under torchrun the processes form a DistributedDataParallel group (gloo on CPUs, nccl on
GPUs). Every process reads every clip (the data sets this is for fit in memory) and walks
the same shuffled order; each global batch of --batch windows is split across the
processes. Each process divides its per-head loss sums by the number of samples labelled
for that head in the whole batch (every process knows the batch), so the averaged gradient is the one a single
process would compute on the whole batch: only dropout masks and batchnorm's batch
statistics (taken per process, as DDP does) depend on the number of processes.
One epoch, timed in `secondsPerEpoch`, is what `sense train` times: the noise mixing, the
training steps and the evaluation of the training and held-out sets.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model import Model  # noqa: E402
from sense_data import DataError, clip_windows, labelled_clips, mix_at_snr, noise_signals, read_safetensors, write_safetensors  # noqa: E402
from sense_features import FrontEnd  # noqa: E402

#: Smallest standard deviation stored for a feature row (engine/train/features.ts MIN_FEATURE_STD).
MIN_FEATURE_STD = 1e-5


def mulberry32(seed):
    """The seeded generator of engine/compress/random.ts, so the held-out split equals `sense train`'s."""
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def rng():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = imul(state ^ (state >> 15), state | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rng


def shuffle(items, rng):
    for i in range(len(items) - 1, 0, -1):
        j = int(rng() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items


def stratified_split(clips, val_fraction, seed):
    """The held-out clip paths, as engine/train/trainer.ts stratifiedSplit chooses them."""
    rng = mulberry32(seed ^ 0x5EED)
    groups = {}
    for path, head, label in clips:
        groups.setdefault(f'{head}\0{label}', [])
        if path not in groups[f'{head}\0{label}']:
            groups[f'{head}\0{label}'].append(path)
    held = set()
    if val_fraction <= 0:
        return held
    for key in sorted(groups):
        paths = shuffle(sorted(groups[key]), rng)
        k = int(np.floor(val_fraction * len(paths) + 0.5))
        if k == 0 and len(paths) >= 2:
            k = 1
        k = min(k, len(paths) - 1)
        held.update(paths[:k])
    return held


def parse_args(config):
    defaults = config['train']
    p = argparse.ArgumentParser(description=f"Train pipeline {config['pipeline']} (a `sense export --pytorch` project).")
    p.add_argument('--data', required=True, help='labelled clips DATA/HEAD/LABEL/*.wav|csv')
    p.add_argument('--out', required=True, help='weights file to write (.safetensors, the pipeline\'s naming)')
    p.add_argument('--epochs', type=int, default=defaults['epochs'])
    p.add_argument('--batch', type=int, default=defaults['batch'], help='global batch, split across processes')
    p.add_argument('--lr', type=float, default=defaults['lr'])
    p.add_argument('--val', type=float, default=defaults['val'])
    p.add_argument('--patience', type=int, default=defaults['patience'])
    p.add_argument('--seed', type=int, default=defaults['seed'])
    p.add_argument('--init', default=os.path.join(HERE, 'initial.safetensors'), help='starting weights (default: the seeded initialisation sense writes)')
    p.add_argument('--noise-dir')
    p.add_argument('--snr', default='', help='SNRs in dB, such as 0,5,10,20')
    p.add_argument('--noise-heads', help='heads whose clips get noise (default: every head with data)')
    p.add_argument('--threads', type=int, help='torch threads per process')
    p.add_argument('--device', default='cpu', help='cpu or cuda')
    a = p.parse_args()
    if a.epochs < 1 or a.batch < 1 or a.patience < 1 or not a.lr > 0 or not 0 <= a.val < 1:
        p.error('--epochs, --batch and --patience must be positive, --lr positive and --val in [0, 1)')
    a.snr = [float(s) for s in a.snr.split(',') if s]
    if bool(a.noise_dir) != bool(a.snr):
        p.error('--noise-dir and --snr go together: the noise WAVs and the SNRs to mix them at')
    if not a.out.lower().endswith('.safetensors'):
        p.error(f'--out {a.out}: the weights file must end in .safetensors')
    return a


def finite(x):
    """x, or None (JSON null) for NaN or infinity, which JSON cannot hold: no held-out set, or a diverged loss."""
    return x if np.isfinite(x) else None


class Group:
    """This process's place in the DDP group (one process without torchrun)."""

    def __init__(self, device):
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        self.device = torch.device(device)
        if self.world > 1:
            backend = 'nccl' if self.device.type == 'cuda' else 'gloo'
            if self.device.type == 'cuda':
                self.device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', '0')))
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend)
            self.backend = backend
        else:
            self.backend = 'none'

    def sum(self, t):
        if self.world > 1:
            dist.all_reduce(t)
        return t


def main():
    with open(os.path.join(HERE, 'pipeline.json')) as f:
        config = json.load(f)
    args = parse_args(config)
    if args.threads:
        torch.set_num_threads(args.threads)
    group = Group(args.device)
    log = print if group.rank == 0 else (lambda *_: None)
    heads = list(config['heads'])
    front = FrontEnd(config)
    torch.manual_seed(args.seed * 1000 + group.rank)

    try:
        clips = labelled_clips(args.data, config)
        windows = [(path, head, label, w) for path, head, label in clips for w in clip_windows(path, config)]
        noise = noise_signals(args.noise_dir, config['input']['rateHz']) if args.noise_dir else None
    except DataError as e:
        sys.exit(f'error: {e}')
    held = stratified_split(clips, args.val, args.seed)
    train = [w for w in windows if w[0] not in held]
    val = [w for w in windows if w[0] in held]
    noise_heads = args.noise_heads.split(',') if args.noise_heads else sorted({w[1] for w in train})

    def labels_of(rows):
        return torch.tensor([[r[2] if r[1] == h else -1 for h in heads] for r in rows], dtype=torch.long).reshape(len(rows), len(heads))

    def signals(rows):
        return torch.from_numpy(np.stack([r[3] for r in rows])) if rows else torch.zeros(0)

    model = Model()
    if os.path.exists(args.init):
        state, _ = read_safetensors(args.init)
        missing = set(model.state_dict()) - set(state)
        if missing:
            sys.exit(f"error: {args.init} lacks {', '.join(sorted(missing))}; give weights of this pipeline")
        model.load_state_dict({k: state[k] for k in model.state_dict()})
    stats = None
    if front.has_normalize():
        pre = front(signals(train), upto_normalize=True).to(torch.float64)
        rows = pre.shape[1]
        per_row = pre.transpose(0, 1).reshape(rows, -1)
        mean = per_row.mean(dim=1)
        std = torch.clamp(torch.sqrt(torch.clamp((per_row ** 2).mean(dim=1) - mean ** 2, min=0)), min=MIN_FEATURE_STD)
        stats = (mean.to(torch.float32), std.to(torch.float32))
        model.features.mean.copy_(stats[0])
        model.features.std.copy_(stats[1])

    def features(sig):
        return front(sig, *(stats or (None, None))) if len(sig) else torch.zeros(0, *config['features']['outputShape'])

    train_clean = features(signals(train))
    val_features = features(signals(val))
    train_labels, val_labels = labels_of(train), labels_of(val)
    model.to(group.device)
    net = torch.nn.parallel.DistributedDataParallel(model) if group.world > 1 else model
    # tfjs's Adam (sense train) takes its backend's float32 epsilon, 1e-7, where torch defaults to 1e-8.
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-7)
    if noise is not None:
        log(f"noise: {len(noise)} clips from {args.noise_dir}, mixed into {', '.join(noise_heads)} at {', '.join(f'{x:g}' for x in args.snr)} dB (or left clean), drawn anew every epoch")
    log(f"training {config['pipeline']}: {len(train)} training windows, {len(val)} held out; {group.world} process(es), backend {group.backend}")

    def head_losses(logits, labels, counts):
        """Per head: the sum of cross-entropies of this process's labelled samples divided by the global count."""
        total = 0
        for j, h in enumerate(heads):
            lab = labels[:, j]
            mask = (lab >= 0).to(logits[h].dtype)
            ce = F.cross_entropy(logits[h], lab.clamp(min=0), reduction='none')
            total = total + (ce * mask).sum() / counts[j].clamp(min=1)
        return total

    def evaluate(feats, labels):
        """Mean loss per head summed over heads, and accuracy per head, over every process's share."""
        model.eval()
        sums = torch.zeros(3, len(heads), dtype=torch.float64)
        with torch.no_grad():
            for start in range(group.rank * 256, len(feats), 256 * group.world):
                x, lab = feats[start:start + 256].to(group.device), labels[start:start + 256]
                logits = model(x, logits=True)
                for j, h in enumerate(heads):
                    m = lab[:, j] >= 0
                    if m.any():
                        lg = logits[h][m.to(group.device)].cpu()
                        sums[0, j] += F.cross_entropy(lg, lab[m, j], reduction='sum').item()
                        sums[1, j] += (lg.argmax(dim=1) == lab[m, j]).sum().item()
                        sums[2, j] += m.sum().item()
        group.sum(sums)
        seen = sums[2] > 0
        loss = float((sums[0][seen] / sums[2][seen]).sum()) if seen.any() else float('nan')
        acc = {h: float(sums[1, j] / sums[2, j]) for j, h in enumerate(heads) if seen[j]}
        return loss, acc, {h: int(sums[2, j]) for j, h in enumerate(heads)}

    order_gen = torch.Generator().manual_seed(args.seed ^ 0x0DDE)
    noise_rng = np.random.default_rng(args.seed ^ 0x401E)
    history, best = [], {'loss': float('inf'), 'epoch': 0, 'state': None, 'val': {}}
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        feats = train_clean
        if noise is not None:
            mixed = []
            for i, (_, head, _, w) in enumerate(train):
                choice = noise_rng.integers(len(args.snr) + 1)
                n = noise[noise_rng.integers(len(noise))]
                offset = noise_rng.integers(len(n))
                if head in noise_heads and choice < len(args.snr) and config['input']['kind'] == 'audio':
                    mixed.append((i, mix_at_snr(w, np.roll(n, -offset), args.snr[choice])))
            if mixed:
                feats = train_clean.clone()
                feats[[i for i, _ in mixed]] = features(torch.from_numpy(np.stack([m for _, m in mixed])))
        order = torch.randperm(len(train), generator=order_gen)
        net.train()
        loss_sum, batches = 0.0, 0
        for start in range(0, len(order), args.batch):
            batch = order[start:start + args.batch]
            if len(batch) < group.world:
                break  # every process needs a sample; a tail shorter than the group is left for the next epoch's order
            mine = batch[group.rank::group.world]
            labels = train_labels[batch]
            counts = (labels >= 0).sum(dim=0).to(torch.float32)
            x, lab = feats[mine].to(group.device), train_labels[mine].to(group.device)
            logits = net(x, logits=True)
            # DDP averages gradients over the processes; times world, the sum is the whole batch's loss.
            loss = head_losses(logits, lab, counts.to(group.device)) * group.world
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += float(group.sum(loss.detach().cpu().reshape(1) / group.world))
            batches += 1
        train_loss_eval, train_acc, _ = evaluate(feats, train_labels)
        val_loss, val_acc, val_counts = evaluate(val_features, val_labels) if len(val) else (float('nan'), {}, {})
        seconds = time.perf_counter() - t0
        history.append({'epoch': epoch, 'trainLoss': finite(loss_sum / max(1, batches)), 'valLoss': finite(val_loss), 'trainAccuracy': train_acc, 'valAccuracy': val_acc, 'seconds': seconds})
        per_head = '  '.join(f"{h} {train_acc[h]:.3f}/{val_acc.get(h, float('nan')):.3f}" for h in heads if h in train_acc)
        log(f'epoch {epoch:3d}/{args.epochs}  loss {loss_sum / max(1, batches):.3f}  val {val_loss:.3f}  acc train/val: {per_head}  {seconds:.2f} s')
        score = val_loss if len(val) else loss_sum / max(1, batches)
        if score < best['loss'] or not len(val):
            best = {'loss': score, 'epoch': epoch, 'state': copy.deepcopy(model.state_dict()), 'val': {h: {'accuracy': val_acc[h], 'windows': val_counts[h]} for h in val_acc}}
        elif epoch - best['epoch'] >= args.patience:
            log(f"early stop: no validation-loss improvement for {args.patience} epochs; keeping epoch {best['epoch']}")
            break

    if group.rank == 0:
        out = os.path.abspath(args.out)
        meta = {'pipeline': config['pipeline'], 'seed': str(args.seed), 'generator': 'sense export --pytorch (train.py)', 'trained_by': 'pytorch train.py', 'processes': str(group.world)}
        write_safetensors(out, {k: v.cpu() for k, v in best['state'].items()}, meta)
        record = {
            'command': 'train.py ' + ' '.join(sys.argv[1:]),
            'pipeline': config['pipeline'],
            'data': args.data,
            'seed': args.seed,
            'epochs': {'requested': args.epochs, 'run': len(history), 'best': best['epoch']},
            'batch': args.batch,
            'learningRate': args.lr,
            'valFraction': args.val,
            'patience': args.patience,
            'backend': f'pytorch {torch.__version__} DistributedDataParallel ({group.backend}, {group.world} processes)' if group.world > 1 else f'pytorch {torch.__version__}',
            **({'noise': {'dir': args.noise_dir, 'snrDb': args.snr, 'heads': noise_heads, 'clips': len(noise)}} if noise is not None else {}),
            'trainWindows': len(train),
            'valWindows': len(val),
            'valAccuracy': best['val'],
            'secondsPerEpoch': [round(h['seconds'], 4) for h in history],
            'history': history,
        }
        stem = out[: -len('.safetensors')]
        with open(f'{stem}.training.json', 'w') as f:
            json.dump(record, f, indent=2)
        log(f"kept epoch {best['epoch']}; wrote {out} and {stem}.training.json")
    if group.world > 1:
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
