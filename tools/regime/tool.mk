regime_PKGS := openblas
regime_LDLIBS := -llapacke -lpthread
