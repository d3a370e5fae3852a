features_LIBS := ta market
