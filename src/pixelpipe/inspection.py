"""``pixelpipe inspect``: which reader was chosen, samples, classes and counts, image sizes, bad files."""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

__all__ = ["run_inspect"]


def _target(reader, index: int) -> int:
    fobj, target = reader[index][:2]
    if hasattr(fobj, "close"):
        fobj.close()
    return -1 if target is None else int(target)


def run_inspect(args: argparse.Namespace) -> int:
    """Describe the dataset at ``args.data`` (see ``pixelpipe inspect --help``)."""
    from .factories import create_dataset
    from .io import decode_pil

    ds = create_dataset("", root=args.data, split=args.split)
    reader = ds.reader
    print(f"reader: {type(reader).__name__} at {args.data}")
    print(f"samples: {len(ds)}")
    targets = getattr(reader, "targets", None)
    if targets is None:
        targets = [_target(reader, i) for i in range(len(reader))]
    targets = np.asarray(targets)
    mapping = getattr(reader, "class_to_idx", None) or getattr(reader, "class_name_to_idx", None) or {}
    names = {v: k for k, v in mapping.items()}
    counts = Counter(int(t) for t in targets)
    print(f"classes: {len(counts)}")
    for idx, n in sorted(counts.items()):
        print(f"  {idx:4d} {names.get(idx, '?')!s:30s} {n}")
    step = max(len(ds) // max(args.max_images, 1), 1)
    sizes, bad = [], []
    for i in range(0, len(ds), step):
        try:
            fobj = reader[i][0]
            if isinstance(fobj, bytes):
                data = fobj
            else:
                with fobj:
                    data = fobj.read()
            sizes.append(decode_pil(data, None, filename=reader.filename(i), index=i).size)
        except OSError as e:
            bad.append((reader.filename(i), e))
    if sizes:
        w, h = np.array(sizes).T
        print(
            f"image sizes over {len(sizes)} decoded: width {w.min()}-{w.max()} (median {int(np.median(w))}), "
            f"height {h.min()}-{h.max()} (median {int(np.median(h))})"
        )
    print(f"unreadable: {len(bad)}")
    for name, err in bad[:20]:
        print(f"  {name}: {err}")
    return 1 if bad else 0
