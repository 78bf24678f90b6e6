/* src/sys/version.c: versions of the tool and of every library it links. */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include <slepcversion.h>
#include "mc/sys.h"
#include "mc/io.h"

void mc_sys_version_string(char *buf, size_t n)
{
  char     mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int      len = 0;
  unsigned h5[3] = {0, 0, 0};
  char    *nl;

  MPI_Get_library_version(mpi, &len);
  if ((nl = strchr(mpi, '\n')) || (nl = strchr(mpi, ','))) *nl = '\0';
  mc_io_hdf5_version(h5);
  snprintf(buf, n,
           "modclust-mpi %s (git %s)\n"
           "  PETSc %d.%d.%d, SLEPc %d.%d.%d, HDF5 %u.%u.%u\n"
           "  MPI: %s\n",
           MC_VERSION, MC_GIT_HASH, PETSC_VERSION_MAJOR, PETSC_VERSION_MINOR, PETSC_VERSION_SUBMINOR, SLEPC_VERSION_MAJOR,
           SLEPC_VERSION_MINOR, SLEPC_VERSION_SUBMINOR, h5[0], h5[1], h5[2], mpi);
}
