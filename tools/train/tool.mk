# kml-train: its own lib/train (data, metrics, linear baseline, SHA-256),
# lib/nn (the deep models) with OpenBLAS and LAPACKE, threads, lib/ml (model
# files: every model is written through it), and libcrypto for the SHA-256
# of data and config.
train_LIBS := train nn ml market
train_PKGS := openblas libcrypto
train_LDLIBS := -llapacke -lpthread
