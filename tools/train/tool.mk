# kml-train: its own lib/train (data, metrics, linear baseline, safetensors),
# OpenBLAS and LAPACKE (lib/nn), threads, and libcrypto for the SHA-256 of data and config.
train_LIBS := train
train_PKGS := openblas libcrypto
train_LDLIBS := -llapacke -lpthread
