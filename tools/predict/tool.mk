# kml-predict: model files through lib/ml (networks from lib/nn on OpenBLAS,
# the linear model from lib/train), strategies from lib/strategy.
predict_LIBS := ml nn train strategy
predict_PKGS := openblas
predict_LDLIBS := -lpthread
