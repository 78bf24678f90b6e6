/* src/sys/version.c: versions of the tool and of every library it links (HDF5's as pkg-config found it at
   configure time: only src/io includes hdf5.h). */
#include <stdio.h>
#include <string.h>
#include <mpi.h>
#include <slepcversion.h>
#include "mc/sys.h"

void mc_sys_version_string(char *buf, size_t n)
{
  char     mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "", blas[256];
  int      len = 0;
  char    *nl;

  MPI_Get_library_version(mpi, &len);
  if ((nl = strchr(mpi, '\n')) || (nl = strchr(mpi, ','))) *nl = '\0';
  mc_sys_blas_describe(blas, sizeof(blas));
  snprintf(buf, n,
           "modclust-mpi %s (git %s)\n"
           "  PETSc %d.%d.%d, SLEPc %d.%d.%d, HDF5 %s\n"
           "  MPI: %s\n"
           "  BLAS: %s\n",
           MC_VERSION, MC_GIT_HASH, PETSC_VERSION_MAJOR, PETSC_VERSION_MINOR, PETSC_VERSION_SUBMINOR, SLEPC_VERSION_MAJOR,
           SLEPC_VERSION_MINOR, SLEPC_VERSION_SUBMINOR, MC_HDF5_VERSION, mpi, blas);
}
