/* tests/fuzz/fuzz_model.c: the model readers. Built once per format (MC_FUZZ_FORMAT: safetensors, keras,
   native, or auto for content detection); the input is the model file. safetensors files are read with
   infer = mlp, the others as they describe themselves. */
#include "harness.h"
#include "mc/io.h"
#include "mc/model.h"

#define STR2(x) #x
#define STR(x)  STR2(x)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  MCModelReadOpts o;
  MCModel        *m = NULL;
  const char     *path;

  if (!(path = mc_fuzz_file("model." STR(MC_FUZZ_FORMAT), data, size))) return 0;
  if (PetscMemzero(&o, sizeof(o)) || PetscStrncpy(o.path, path, sizeof(o.path))) return 0;
  o.format = MC_FUZZ_FORMAT_ENUM;
  o.infer  = MC_FUZZ_INFER;
  if (!mc_io_model_read(PETSC_COMM_SELF, &o, &m)) {
    mc_fuzz_outcome(1);
    mc_model_destroy(&m);
  } else mc_fuzz_outcome(0);
  return 0;
}
