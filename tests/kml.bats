#!/usr/bin/env bats
# The dispatcher and the conventions every tool keeps (shown on kml-config).
load helper

@test "kml: help lists the installed stages with a line each" {
    run kml help
    assert_success
    assert_output --partial "stages:"
    assert_line --regexp '^  config +show and check the trading configuration'
}

@test "kml: no arguments prints usage to stderr and exits 64" {
    run --separate-stderr kml
    assert_equal "$status" 64
    assert_equal "$output" ""
    [[ "$stderr" == *"usage: kml <stage>"* ]]
}

@test "kml: an unknown stage exits 64 naming it" {
    run --separate-stderr kml nosuchstage
    assert_equal "$status" 64
    [[ "$stderr" == "kml: no stage 'nosuchstage' (see 'kml help')" ]]
}

@test "kml: dispatches arguments unchanged to kml-<stage>" {
    run kml config pair "sol/usd" --interval 15 --dir "my dir"
    assert_success
    assert_output '{"pair":"SOL/USD","altname":"SOLUSD","base":"SOL","quote":"USD","file":"my dir/SOLUSD_15.csv"}'
}

@test "kml help STAGE shows the stage's --help" {
    run kml help config
    assert_success
    assert_line --index 0 --partial "usage: kml-config"
}

@test "conventions: --help goes to stdout and exits 0" {
    run --separate-stderr kml-config --help
    assert_success
    assert_equal "$stderr" ""
    assert_output --partial "--config FILE"
}

@test "conventions: a bad option is one line on stderr with a hint, exit 64" {
    run --separate-stderr kml-config --no-such-option
    assert_equal "$status" 64
    assert_equal "$output" ""
    assert_equal "$stderr" "kml-config: unknown option '--no-such-option' (try 'kml-config --help')"
}

@test "conventions: a bad option value names the option, exit 64" {
    run --separate-stderr kml-config pair SOL/USD --interval abc
    assert_equal "$status" 64
    assert_equal "$stderr" "kml-config: --interval: not an integer: \"abc\" (try 'kml-config --help')"
}

@test "conventions: a missing file exits 66 naming it" {
    run --separate-stderr kml-config check /nonexistent/trading.json
    assert_equal "$status" 66
    assert_equal "$stderr" "kml-config: /nonexistent/trading.json: No such file or directory"
}

@test "conventions: a write error on stdout fails the stage (exit 74)" {
    run bash -c 'kml-config show > /dev/full'
    assert_equal "$status" 74
    assert_output --partial "write error on standard output"
}

@test "config: defaults are the product's allocation, fees and leverage ranges" {
    cd "$BATS_TEST_TMPDIR"
    run kml-config show
    assert_success
    echo "$output" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
a = c["assets"]
assert list(a) == ["SOL/USD", "ETH/USD", "BTC/USD"], list(a)
assert [a[k]["allocation"] for k in a] == [0.40, 0.35, 0.25]
assert a["SOL/USD"]["leverage"]["extreme"] == [20, 125]
assert a["ETH/USD"]["leverage"]["extreme"] == [15, 100]
assert a["BTC/USD"]["leverage"]["extreme"] == [12, 85]
assert c["fees"] == {"maker": 0.0016, "taker": 0.0026}
assert c["mode"] == "sandbox"
'
}

@test "config: an unknown key is an error naming its JSON path, exit 78" {
    printf '{"assets": {"SOL/USD": {"allocation": 0.5, "levrage": {}}}}\n' > "$BATS_TEST_TMPDIR/c.json"
    run --separate-stderr kml-config check "$BATS_TEST_TMPDIR/c.json"
    assert_equal "$status" 78
    assert_equal "$stderr" "kml-config: $BATS_TEST_TMPDIR/c.json: \$.assets.SOL/USD: unknown key \"levrage\""
}

@test "config: a bad value names its JSON path, exit 78" {
    printf '{"assets": {"ETH/USD": {"leverage": {"extreme": [15, "x"]}}}}\n' > "$BATS_TEST_TMPDIR/c.json"
    run --separate-stderr kml-config check "$BATS_TEST_TMPDIR/c.json"
    assert_equal "$status" 78
    assert_equal "$stderr" "kml-config: $BATS_TEST_TMPDIR/c.json: \$.assets.ETH/USD.leverage.extreme[1]: expected a number"
}

@test "config: invalid JSON names line and column, exit 65" {
    printf '{\n  "mode": "sandbox",,\n}\n' > "$BATS_TEST_TMPDIR/c.json"
    run --separate-stderr kml-config check "$BATS_TEST_TMPDIR/c.json"
    assert_equal "$status" 65
    [[ "$stderr" == "kml-config: $BATS_TEST_TMPDIR/c.json:2:"*": invalid JSON" ]]
}

@test "config: init writes the defaults atomically and refuses to overwrite" {
    cd "$BATS_TEST_TMPDIR"
    run kml-config init
    assert_success
    run kml-config check config/trading.json
    assert_success
    assert_output "config/trading.json: ok"
    run diff <(kml-config show) <(kml-config show -c config/trading.json)
    assert_success
    run --separate-stderr kml-config init
    assert_equal "$status" 73
    [ -z "$(ls -A config | grep -v '^trading.json$')" ]
}

@test "config: KML_CONFIG selects the file and a subset overrides the defaults" {
    printf '{"assets": {"BTC/USD": {"allocation": 1.0}}, "fees": {"taker": 0.004}}\n' > "$BATS_TEST_TMPDIR/c.json"
    KML_CONFIG="$BATS_TEST_TMPDIR/c.json" run kml-config show
    assert_success
    echo "$output" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
assert list(c["assets"]) == ["BTC/USD"]
assert c["assets"]["BTC/USD"]["leverage"]["extreme"] == [12, 85]
assert c["fees"] == {"maker": 0.0016, "taker": 0.004}
'
}
