/* tests/config/mc_config_reference.c: print the configuration reference (docs/config.md) without
   initializing PETSc, as `modclust-mpi --config-reference` does. */
#include "mc/config.h"

int main(void)
{
  return mc_config_print_markdown(stdout) ? 1 : 0;
}
