/*
 * fuzz.h: one source file per fuzz target, two ways to build it.
 *
 * A target file defines FG_FUZZ_TARGET (its name, also the name of its seed
 * corpus folder tests/fuzz/corpus/<name>/), includes this header and defines
 * LLVMFuzzerTestOneInput as libFuzzer expects.
 *
 * - scripts/fuzz compiles each target alone with -DFG_LIBFUZZER and
 *   clang -fsanitize=fuzzer: LLVMFuzzerTestOneInput keeps its name.
 * - make check links every target into one program, tests/fuzz/corpus-run
 *   (standalone.c), which replays each seed corpus as a regression test
 *   without clang. There the function is renamed fg_fuzz_<name> and
 *   registers itself before main() runs.
 *
 * Ownership rule: a target owns nothing past its return; data is borrowed
 * from the driver and is not NUL-terminated.
 */
#ifndef FG_FUZZ_H
#define FG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

typedef int (*fg_fuzz_fn)(const uint8_t *data, size_t size);

/* standalone.c: records a target for the corpus run. */
void fg_fuzz_register(const char *name, fg_fuzz_fn fn);

#ifndef FG_LIBFUZZER
#ifndef FG_FUZZ_TARGET
#error "define FG_FUZZ_TARGET to the target's name before including fuzz.h"
#endif
#define FG_FUZZ_CAT2(a, b) a##b
#define FG_FUZZ_CAT(a, b) FG_FUZZ_CAT2(a, b)
#define FG_FUZZ_STR2(a) #a
#define FG_FUZZ_STR(a) FG_FUZZ_STR2(a)
#define LLVMFuzzerTestOneInput FG_FUZZ_CAT(fg_fuzz_, FG_FUZZ_TARGET)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((constructor)) static void
FG_FUZZ_CAT(fg_fuzz_register_, FG_FUZZ_TARGET)(void)
{
	fg_fuzz_register(FG_FUZZ_STR(FG_FUZZ_TARGET), LLVMFuzzerTestOneInput);
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

#endif
