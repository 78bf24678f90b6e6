/* src/io/model_safetensors.c: safetensors reader (work in progress). */
#include "io/io_impl.h"

PetscErrorCode mc__io_model_read_safetensors(const MCConfig *cfg, const char *path, MCModel **out)
{
  PetscFunctionBeginUser;
  *out = NULL;
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: reading safetensors files is not implemented yet", path);
}
