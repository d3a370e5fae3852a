# kml-train: its own lib/train (data, metrics, linear baseline, safetensors),
# lib/nn (the deep models) with OpenBLAS and LAPACKE, threads, and libcrypto
# for the SHA-256 of data and config.
train_LIBS := train nn
train_PKGS := openblas libcrypto
train_LDLIBS := -llapacke -lpthread
