/* deep_none.c: the build without lib/nn's whole-model API. */
#include "train.h"
#include "util.h"

int deep_available(void) { return 0; }

model *deep_model_create(const train_cfg *c, int F, const char *tmpdir) {
    (void)F, (void)tmpdir;
    die(EX_UNAVAILABLE, "--arch %s: this build has no deep models (lib/nn)", c->arch);
}
