/* tests/fuzz/harness.h: what every fuzzing harness shares. A harness defines LLVMFuzzerTestOneInput for one
   reader; built with clang's libFuzzer (tools/fuzz.sh) it is a fuzzer, built with replay.c it runs a
   corpus once (the CTest tests fuzz_replay_*). PETSc starts once per process, on one rank, with errors
   returned quietly: a reader's error is a correct answer to a bad input; only a crash, a sanitizer report
   or a hang is a finding. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <petscsys.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* mc_fuzz_start - PetscInitialize (once) with a quiet error handler. Returns 0. */
int mc_fuzz_start(void);

/* mc_fuzz_outcome - Count one input as accepted (the reader returned a result) or refused (an error);
   mc_fuzz_counts reads the counts (replay.c prints them: seeds the readers accept show the harness reaches
   them). */
void mc_fuzz_outcome(int accepted);
void mc_fuzz_counts(long *accepted, long *refused);

/* mc_fuzz_file - Write data[0..size) to this process's scratch file named `name` (a fixed name, reused by
   every input) and return its path, or NULL on failure. */
const char *mc_fuzz_file(const char *name, const uint8_t *data, size_t size);

/* mc_fuzz_cleanup - Remove this process's scratch directory and what is in it (replay.c, at its end). */
void mc_fuzz_cleanup(void);

/* mc_fuzz_dir - The scratch subdirectory `name` (made on first use) for readers that take a directory; its
   path, or NULL. Files in it are written with mc_fuzz_file("name/file", ...). */
const char *mc_fuzz_dir(const char *name);
