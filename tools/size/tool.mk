size_LIBS := market
