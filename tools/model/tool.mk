# kml-model: lib/nn on OpenBLAS; its model files through lib/ml's safetensors module.
model_LIBS := nn ml
model_PKGS := openblas
model_LDLIBS := -lpthread
