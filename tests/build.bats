#!/usr/bin/env bats
# The build: idempotent, quiet, and no test program built by `make` alone.
load helper

setup() {
    B="$BATS_TEST_TMPDIR/b"
    cd "$KML_ROOT"
}
# make as a user types it, not as a sub-make of `make test` (whose MAKEFLAGS
# and MAKELEVEL would add "Entering directory" lines and its jobserver)
make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }

@test "build: a second make with nothing changed does nothing, and keeps the test objects" {
    # -O0 and two targets keep this quick; the rules are the ones every build uses
    make -s BUILD="$B" OPT=-O0 "$B/bin/kml-config" "$B/tests/test_util" >/dev/null
    [ -f "$B/tests/unit/test_util.o" ]
    [ -f "$B/tests/unit/t.o" ]
    run make -q BUILD="$B" OPT=-O0 "$B/bin/kml-config" "$B/tests/test_util"
    assert_success
    run make BUILD="$B" OPT=-O0 "$B/bin/kml-config" "$B/tests/test_util"
    assert_success
    refute_output --partial "CC"
    refute_output --partial "LD"
    # a touched source rebuilds only what depends on it
    touch lib/pair.c
    run make BUILD="$B" OPT=-O0 "$B/bin/kml-config" "$B/tests/test_util"
    assert_line "  CC    lib/pair.o"
    [ "$(grep -c '  CC ' <<<"$output")" = 1 ]
}

@test "build: make and make pipeline build no test program; make test does" {
    run make -n BUILD="$B" all
    assert_success
    refute_output --partial "tests/unit"
    refute_output --partial "/tests/test_"
    run make -n BUILD="$B" pipeline
    refute_output --partial "tests/unit"
    run make -n BUILD="$B" test
    assert_output --partial "tests/unit/test_util.c"
}

@test "build: compile lines are short by default and whole with V=1" {
    run make BUILD="$B" OPT=-O0 "$B/lib/util.o"
    assert_output "  CC    lib/util.o"
    rm "$B/lib/util.o"
    run make V=1 BUILD="$B" OPT=-O0 "$B/lib/util.o"
    assert_output --partial "-MMD -MP -c lib/util.c -o $B/lib/util.o"
    refute_output --partial "  CC "
}

@test "build: only the current build directory's dependency files are read" {
    mkdir -p "$B/other"
    printf 'bogus-target-from-another-build:\n\t@echo WRONG\n' > "$B/other/x.d"
    run make -n BUILD="$B/cur" bogus-target-from-another-build
    assert_failure
    run make -n BUILD="$B/other" bogus-target-from-another-build
    assert_output --partial "WRONG"
}
