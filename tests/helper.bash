# Loaded by every bats suite: bats-support, bats-assert and the project's paths.
for d in /usr/lib/bats /usr/local/lib/bats /opt/homebrew/lib; do
    if [ -f "$d/bats-support/load.bash" ]; then
        load "$d/bats-support/load.bash"
        load "$d/bats-assert/load.bash"
        break
    fi
done
KML_ROOT=${KML_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
KML_SHARED_DATA=${KML_SHARED_DATA:-$(cd "$KML_ROOT/.." && pwd)/shared/data}
FIXTURES="$KML_ROOT/tests/fixtures"
if [ -z "${KML_EXEC_PATH:-}" ]; then
    KML_EXEC_PATH="$KML_ROOT/bin"
fi
export KML_EXEC_PATH
export PATH="$KML_EXEC_PATH:$KML_ROOT/bin:$PATH"

# Skip a test that needs the real market data of ../shared/data when it is absent.
need_data() {
    [ -f "$KML_SHARED_DATA/kraken/$1" ] || skip "real data $KML_SHARED_DATA/kraken/$1 absent"
}
# The PyTorch reference models (read-only, beside the checkout as ../shared/).
KML_TORCH_REF=${KML_TORCH_REF:-$(cd "$KML_ROOT/.." && pwd)/shared/reference/torch_models.py}
export KML_TORCH_REF
# Skip a test that needs Debian's python3 with torch (and the reference models).
need_torch() {
    /usr/bin/python3 -c 'import torch' 2>/dev/null || skip "python3-torch not installed"
    [ -f "$KML_TORCH_REF" ] || skip "PyTorch reference $KML_TORCH_REF absent"
}
need_pandas() {
    /usr/bin/python3 -c 'import pandas' 2>/dev/null || skip "python3-pandas not installed"
}
