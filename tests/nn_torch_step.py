#!/usr/bin/python3
"""PyTorch's side of the lib/nn parity tests (tests/model.bats).

  nn_torch_step.py step MODEL WINDOWS LABELS OUT GRADS [--lr X] [--eps X]
                   [--weight-decay X] [--adamw] [--clip X] [--class-weights a,b,c]
      Loads MODEL (safetensors, as torch_models.py check does) into the
      reference module, runs one training step on WINDOWS (raw float32
      [N,T,F]) and LABELS (one class a line): CrossEntropyLoss(weight=...),
      backward, clip_grad_norm_ when --clip, one Adam (or AdamW) step.
      Writes the updated parameters to OUT and the gradients to GRADS
      (safetensors, the same names, MODEL's metadata); prints loss=...
      With --compare M G [--tol X] [--grad-tol X]: then compares M (updated
      parameters) with OUT and G (gradients) with GRADS, and exits 1 when
      they differ; see compare_step for the analytically zero gradients.
  nn_torch_step.py compare A B TOL
      Max |a - b| per tensor of two safetensors files; exits 1 when a tensor
      differs by more than TOL or the names differ.
"""
import argparse, json, struct, sys
import numpy as np
import torch

import os  # noqa: E402
# the reference: $KML_TORCH_REF (tests/helper.bash sets it), else ../shared/reference beside the tree
_ref = os.environ.get("KML_TORCH_REF") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "shared", "reference", "torch_models.py")
sys.path.insert(0, os.path.dirname(_ref))
import torch_models as tm  # noqa: E402


def write_safetensors(path, tensors, meta=None):
    header, off, blobs = ({"__metadata__": meta} if meta else {}), 0, []
    for k, v in tensors.items():
        b = v.detach().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)


def step(a):
    tensors, meta = tm.read_safetensors(a.model)
    cfg = json.loads(meta["config"])
    T, F = cfg["T"], cfg["F"]
    m = tm.build(cfg["arch"], T, F, cfg["H"])
    m.load_state_dict(tensors, strict=True); m.train()
    x = torch.from_numpy(np.fromfile(a.windows, dtype="<f4").reshape(-1, T, F))
    y = torch.tensor([int(l) for l in open(a.labels).read().split()])
    w = torch.tensor([float(v) for v in a.class_weights.split(",")]) if a.class_weights else None
    Opt = torch.optim.AdamW if a.adamw else torch.optim.Adam
    opt = Opt(m.parameters(), lr=a.lr, eps=a.eps, weight_decay=a.weight_decay)
    opt.zero_grad()
    loss = torch.nn.CrossEntropyLoss(weight=w)(m(x), y)
    loss.backward()
    if a.clip > 0:
        torch.nn.utils.clip_grad_norm_(m.parameters(), a.clip)
    grads = {k: p.grad.clone() for k, p in m.named_parameters()}
    opt.step()
    write_safetensors(a.out, m.state_dict(), meta)
    write_safetensors(a.grads, grads, meta)
    print(f"loss={loss.item():.9g}")
    if a.compare:
        sys.exit(compare_step(a, tensors, cfg["H"]))


def analytic_zero(name, n, H):
    """Mask of the elements whose gradient is zero in exact arithmetic.

    MultiheadAttention's in_proj_bias is [b_q | b_k | b_v] (3H). b_k adds
    q_t . b_k to every score of row t, and softmax is invariant to adding a
    constant to a row, so d loss / d b_k = 0 exactly (PyTorch in float64 gives
    about 1e-18, against 1e-3 for b_q and b_v). In float32 both programs get
    rounding noise of about 1e-10 there, with independent signs."""
    mask = np.zeros(n, dtype=bool)
    if name.endswith("self_attn.in_proj_bias"):
        mask[H:2 * H] = True
    return mask


def adam_first_step(p0, g, a):
    """The parameter after the first Adam/AdamW step from p0 with gradient g
    (after clipping), in float64: m_hat = g', v_hat = g'^2, so
    p1 = p0 (1 - lr wd [AdamW]) - lr g' / (|g'| + eps), g' = g + wd p0 for Adam."""
    if a.adamw:
        return p0 * (1 - a.lr * a.weight_decay) - a.lr * g / (np.abs(g) + a.eps)
    g = g + a.weight_decay * p0
    return p0 - a.lr * g / (np.abs(g) + a.eps)


def compare_step(a, m0, H):
    """Ours (a.compare: parameters, gradients) against PyTorch's (a.out, a.grads).

    Gradients: every element to a.grad_tol. Parameters: every element to
    a.tol, except those with an analytically zero gradient (analytic_zero).
    There Adam's first step is lr g / (|g| + eps): it normalises the
    rounding noise g ~ 1e-10 into a step of up to lr * |g| / (|g| + eps) in a
    random direction, in PyTorch as in any float32 program, so the two updates
    cannot agree beyond that. For those elements the test is instead that the
    gradient is noise on both sides (|g| <= 1e-6 max |g| of the model) and that
    each side's update is exactly Adam's first step from its own gradient (to
    1e-7), which checks the optimiser on them as tightly as elsewhere."""
    cp, _ = tm.read_safetensors(a.compare[0]); cg, _ = tm.read_safetensors(a.compare[1])
    tp, _ = tm.read_safetensors(a.out); tg, _ = tm.read_safetensors(a.grads)
    if not set(cp) == set(cg) == set(tp) == set(tg) == set(m0):
        print("names differ:", sorted(set(cp) ^ set(tp)), sorted(set(cg) ^ set(tg))); return 1
    f64 = lambda d, k: d[k].double().numpy().ravel()
    gmax = max(np.abs(f64(tg, k)).max() for k in tg if tg[k].numel())
    noise = 1e-6 * gmax
    bad, wp, wg, nz, wz = 0, 0.0, 0.0, 0, 0.0
    for k in sorted(tp):
        if not tp[k].numel():
            continue
        z = analytic_zero(k, tp[k].numel(), H)
        dg = np.abs(f64(cg, k) - f64(tg, k)).max()
        dp = np.abs(f64(cp, k) - f64(tp, k))[~z]
        dp = dp.max() if dp.size else 0.0
        wg, wp = max(wg, dg), max(wp, dp)
        if not dg <= a.grad_tol:
            print(f"{k}: gradient max |diff| {dg:.3g} > {a.grad_tol}"); bad = 1
        if not dp <= a.tol:
            print(f"{k}: updated parameter max |diff| {dp:.3g} > {a.tol}"); bad = 1
        if not z.any():
            continue
        nz += int(z.sum())
        p0 = f64(m0, k)[z]
        for side, P, Gr in (("ours", cp, cg), ("PyTorch's", tp, tg)):
            g = f64(Gr, k)[z]
            if not np.abs(g).max() <= noise:
                print(f"{k}: {side} analytically zero gradient is {np.abs(g).max():.3g} > {noise:.3g}"); bad = 1
            e = np.abs(f64(P, k)[z] - adam_first_step(p0, g, a)).max()
            if not e <= 1e-7:
                print(f"{k}: {side} update of the zero-gradient elements is {e:.3g} off Adam's step"); bad = 1
        wz = max(wz, np.abs(f64(cp, k)[z] - f64(tp, k)[z]).max())
    print(f"max |diff| over {len(tp)} tensors: gradients {wg:.3g}, updated parameters {wp:.3g}")
    if nz:
        print(f"{nz} elements with an analytically zero gradient: each side's update is Adam's step from"
              f" its own rounding noise; they differ by {wz:.3g}")
    return bad


def compare(a, b, tol):
    ta, _ = tm.read_safetensors(a); tb, _ = tm.read_safetensors(b)
    if set(ta) != set(tb):
        print("names differ:", sorted(set(ta) ^ set(tb))); return 1
    bad = 0; worst = 0.0
    for k in ta:
        d = (ta[k] - tb[k]).abs().max().item() if ta[k].numel() else 0.0
        worst = max(worst, d)
        if not d <= tol:
            print(f"{b}: {k}: max |diff| {d:.3g} > {tol}"); bad = 1
    print(f"{b}: max |diff| {worst:.3g} over {len(ta)} tensors")
    return bad


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    p = argparse.ArgumentParser()
    p.add_argument("cmd"); p.add_argument("model"); p.add_argument("windows"); p.add_argument("labels")
    p.add_argument("out"); p.add_argument("grads")
    p.add_argument("--lr", type=float, default=1e-3); p.add_argument("--eps", type=float, default=1e-8)
    p.add_argument("--weight-decay", type=float, default=0.0); p.add_argument("--adamw", action="store_true")
    p.add_argument("--clip", type=float, default=0.0); p.add_argument("--class-weights", default=None)
    p.add_argument("--compare", nargs=2, metavar=("MODEL", "GRADS"),
                   help="then compare these (from kml-model step) with OUT and GRADS")
    p.add_argument("--tol", type=float, default=1e-5, help="updated parameters")
    p.add_argument("--grad-tol", type=float, default=1e-5, help="gradients")
    step(p.parse_args())
