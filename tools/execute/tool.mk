# kml-execute: the paper account and the margin model (lib/market), and for
# --live the signed Kraken client (libcurl, libcrypto for HMAC/SHA/base64).
execute_LIBS := market
execute_PKGS := libcurl libcrypto
