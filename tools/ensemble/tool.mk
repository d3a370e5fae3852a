# kml-ensemble: lib/strategy (strategies, the fit, ensemble.json), with
# LAPACKE (Cholesky for the tangency start) over OpenBLAS.
ensemble_LIBS := strategy
ensemble_PKGS := openblas
ensemble_LDLIBS := -llapacke -lpthread
