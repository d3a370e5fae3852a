# kml-model: lib/nn on OpenBLAS.
model_LIBS := nn
model_PKGS := openblas
model_LDLIBS := -lpthread
