features_LIBS := ta
