/* src/io/model_keras.c: Keras 2 legacy .h5 reader (work in progress). */
#include "io/io_impl.h"

PetscErrorCode mc__io_model_read_keras(const char *path, MCModel **out)
{
  PetscFunctionBeginUser;
  *out = NULL;
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: reading Keras .h5 files is not implemented yet", path);
}
