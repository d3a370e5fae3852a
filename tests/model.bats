#!/usr/bin/env bats
# kml-model and lib/nn against the PyTorch reference (../shared/reference/torch_models.py).
# Small sizes (T=16, F=5, H=8; other hyper-parameters at the reference's defaults)
# keep the suite quick; the default sizes are exercised by `make bench`.

load helper

REF="$KML_TORCH_REF" # tests/helper.bash
STEP="$KML_ROOT/tests/nn_torch_step.py"
SMALL="--T 16 --F 5 --H 8"

setup() {
    cd "$BATS_TEST_TMPDIR"
    # 7 windows of [16, 5] float32 and their labels
    /usr/bin/python3 - <<'PY' 2>/dev/null || perl -e 'srand(5); print pack("f<*", map { rand(4) - 2 } 1 .. 7*16*5)' > w.f32
import numpy as np
np.random.seed(5); np.random.randn(7, 16, 5).astype("<f4").tofile("w.f32")
PY
    printf '0\n2\n1\n2\n0\n1\n1\n' > y.txt
}

logits_match() { # arch
    need_torch
    kml-model init --arch "$1" $SMALL --seed 7 -o m.st
    kml-model logits m.st w.f32 > c.txt
    /usr/bin/python3 "$REF" check m.st w.f32 > p.txt
    [ "$(wc -l < c.txt)" -eq 7 ]
    run /usr/bin/python3 -c '
import numpy as np, sys
a, b = np.loadtxt("c.txt"), np.loadtxt("p.txt")
d = np.abs(a - b).max(); print("max |diff|", d); sys.exit(0 if a.shape == b.shape == (7, 3) and d <= 1e-4 else 1)'
    echo "$output"
    assert_success
}

step_matches() { # arch, extra optimiser options
    need_torch
    local arch=$1; shift
    kml-model init --arch "$arch" $SMALL --seed 8 -o m.st
    kml-model step m.st w.f32 y.txt -o c.st --grads cg.st "$@"
    run /usr/bin/python3 "$STEP" step m.st w.f32 y.txt p.st pg.st "$@" --compare c.st cg.st --tol 1e-5 --grad-tol 1e-6
    echo "$output"
    assert_success
    # the file PyTorch wrote loads here and gives PyTorch's logits
    kml-model logits p.st w.f32 > c2.txt
    /usr/bin/python3 "$REF" check p.st w.f32 > p2.txt
    /usr/bin/python3 -c 'import numpy as np; assert np.abs(np.loadtxt("c2.txt") - np.loadtxt("p2.txt")).max() <= 1e-4'
}

# PyTorch's default eps (1e-8). Gradients are compared to 1e-6, updated
# parameters to 1e-5, except the attention key bias (in_proj_bias[H:2H]), whose
# gradient is zero in exact arithmetic: there both programs hold rounding noise
# of ~1e-10 that Adam's first step, lr g / (|g| + eps), turns into a step of
# up to lr in a random direction; nn_torch_step.py checks instead that those
# gradients are noise on both sides and each update is Adam's step from its
# own gradient (see compare_step there).
ADAM="--class-weights 0.5,2,1 --clip 0.5"
ADAMW="--adamw --weight-decay 0.1 --lr 0.01"

@test "model: lstm logits equal PyTorch's to 1e-4" { logits_match lstm; }
@test "model: gru logits equal PyTorch's to 1e-4" { logits_match gru; }
@test "model: tcn logits equal PyTorch's to 1e-4" { logits_match tcn; }
@test "model: cnn logits equal PyTorch's to 1e-4" { logits_match cnn; }
@test "model: transformer logits equal PyTorch's to 1e-4" { logits_match transformer; }
@test "model: hybrid logits equal PyTorch's to 1e-4" { logits_match hybrid; }

@test "model: lstm Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches lstm $ADAM; }
@test "model: gru Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches gru $ADAM; }
@test "model: tcn Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches tcn $ADAM; }
@test "model: cnn Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches cnn $ADAM; }
@test "model: transformer Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches transformer $ADAM; }
@test "model: hybrid Adam step (class weights, clipping) and gradients equal PyTorch's to 1e-5 / 1e-6" { step_matches hybrid $ADAM; }
@test "model: lstm AdamW step (decoupled weight decay) equals PyTorch's to 1e-5" { step_matches lstm $ADAMW; }
@test "model: transformer AdamW step (decoupled weight decay) equals PyTorch's to 1e-5" { step_matches transformer $ADAMW; }
@test "model: hybrid AdamW step (decoupled weight decay) equals PyTorch's to 1e-5" { step_matches hybrid $ADAMW; }

@test "model: tcn at T=64 with F = H (no down conv; the receptive cone of 61 steps inside the window) equals PyTorch" {
    need_torch
    /usr/bin/python3 -c 'import numpy as np; np.random.seed(6); np.random.randn(5, 64, 8).astype("<f4").tofile("w64.f32")'
    printf '2\n0\n1\n1\n0\n' > y5.txt
    kml-model init --arch tcn --T 64 --F 8 --H 8 --seed 9 -o m.st
    kml-model logits m.st w64.f32 > c.txt
    /usr/bin/python3 "$REF" check m.st w64.f32 > p.txt
    /usr/bin/python3 -c 'import numpy as np; d = np.abs(np.loadtxt("c.txt") - np.loadtxt("p.txt")).max(); print(d); assert d <= 1e-4'
    kml-model step m.st w64.f32 y5.txt -o c.st --grads cg.st $ADAM
    run /usr/bin/python3 "$STEP" step m.st w64.f32 y5.txt p.st pg.st $ADAM --compare c.st cg.st --tol 1e-5 --grad-tol 1e-6
    echo "$output"
    assert_success
}

@test "model: a model with non-default hyper-parameters loads into PyTorch's modules by name" {
    need_torch
    # the reference builds only T, F, H; a 1-layer LSTM has fewer tensors, which strict loading refuses
    kml-model init --arch lstm $SMALL --layers 1 --seed 1 -o m.st
    run /usr/bin/python3 "$REF" check m.st w.f32
    assert_failure
    assert_output --partial "rnn.weight_ih_l1"
}

@test "model: info reports architecture, config, parameter count and tensor names" {
    kml-model init --arch lstm --seed 1 -o m.st
    run kml-model info m.st
    assert_success
    assert_output --partial '"arch":	"lstm"'
    assert_output --partial '"params":	58563'
    assert_output --partial '"name":	"rnn.weight_hh_l1"'
    assert_output --partial '"T":	64'
    kml-model init --arch hybrid --seed 1 -o h.st
    run kml-model info h.st
    assert_output --partial '"params":	269699'
    refute_output --partial 'tcn.head'
}

@test "model: init is deterministic in its seed" {
    kml-model init --arch gru $SMALL --seed 3 -o a.st
    kml-model init --arch gru $SMALL --seed 3 -o b.st
    kml-model init --arch gru $SMALL --seed 4 -o c.st
    cmp a.st b.st
    ! cmp -s a.st c.st
}

@test "model: logits reads windows from stdin" {
    kml-model init --arch cnn $SMALL --seed 3 -o m.st
    kml-model logits m.st w.f32 > a.txt
    kml-model logits m.st < w.f32 > b.txt
    cmp a.txt b.txt
    [ "$(wc -l < a.txt)" -eq 7 ]
}

@test "model: windows that are not whole [T,F] blocks exit 65 naming the sizes" {
    kml-model init --arch tcn $SMALL --seed 3 -o m.st
    head -c 100 w.f32 > bad.f32
    run --separate-stderr kml-model logits m.st bad.f32
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"bad.f32: 100 bytes is not a whole number of windows of 16 x 5 float32"* ]]
}

@test "model: a missing model exits 66, a damaged one 65, naming the file" {
    run --separate-stderr kml-model logits nope.st w.f32
    [ "$status" -eq 66 ]
    [[ "$stderr" == *"nope.st"* ]]
    head -c 50 w.f32 > junk.st
    run --separate-stderr kml-model info junk.st
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"junk.st: not a safetensors file"* ]]
}

@test "model: bad options exit 64" {
    run --separate-stderr kml-model init --arch mlp -o m.st
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"unknown architecture 'mlp'"* ]]
    run --separate-stderr kml-model init --arch transformer --H 10 -o m.st
    [ "$status" -eq 64 ]
    [[ "$stderr" == *"heads (4) must divide H (10)"* ]]
    run --separate-stderr kml-model init --arch lstm
    [ "$status" -eq 64 ]
    run --separate-stderr kml-model frobnicate
    [ "$status" -eq 64 ]
    run kml-model --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"sgemm-peak"* ]]
}

@test "model: step refuses a bad label with its line" {
    kml-model init --arch gru $SMALL --seed 3 -o m.st
    printf '0\n7\n' > bad.txt
    run --separate-stderr kml-model step m.st w.f32 bad.txt -o out.st
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"bad.txt:2: not a class 0, 1 or 2"* ]]
}

@test "model: bench prints the reference's line format" {
    run kml-model bench --arch gru $SMALL --batch 4 --steps 2
    assert_success
    assert_output --regexp '^gru params=[0-9]+ train_samples_per_s=[0-9.]+ infer_us=[0-9.]+$'
}

@test "model: the PyTorch parity check fails on a step that differs (lr 1.1e-3 against 1e-3)" {
    need_torch
    kml-model init --arch transformer $SMALL --seed 8 -o m.st
    kml-model step m.st w.f32 y.txt -o c.st --grads cg.st --lr 0.0011
    run /usr/bin/python3 "$STEP" step m.st w.f32 y.txt p.st pg.st --lr 0.001 --compare c.st cg.st --tol 1e-5 --grad-tol 1e-6
    assert_failure
    assert_output --partial "updated parameter max |diff|"
    # the key bias's own check: an update that is not Adam's step from its gradient
    refute_output --partial "gradient max |diff|"
    assert_output --partial "update of the zero-gradient elements is"
}
