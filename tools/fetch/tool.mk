# kml-fetch talks HTTP to Kraken through libcurl (lib/kraken.c).
fetch_PKGS := libcurl
