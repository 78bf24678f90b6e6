/* src/sys/memory.c: how much memory each rank may use, for the stages that check a size before allocating. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mc/sys.h"

/* The node's available memory in bytes: MemAvailable of /proc/meminfo, else the free pages. */
static double node_available(void)
{
  FILE  *fp = fopen("/proc/meminfo", "r");
  char   line[256];
  double kb = -1;

  if (fp) {
    while (fgets(line, sizeof(line), fp))
      if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(fp);
  }
  if (kb > 0) return kb * 1024.0;
  return (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
}

PetscErrorCode mc_sys_memory_per_rank(MPI_Comm comm, double *bytes)
{
  MPI_Comm    node;
  PetscMPIInt on_node;
  double      mine, given = 0;
  PetscBool   set;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-mc_memory_per_rank", &given, &set));
  if (set && given > 0) mine = given;
  else {
    PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    PetscCallMPI(MPI_Comm_size(node, &on_node));
    PetscCallMPI(MPI_Comm_free(&node));
    mine = node_available() / on_node;
  }
  PetscCallMPI(MPI_Allreduce(&mine, bytes, 1, MPI_DOUBLE, MPI_MIN, comm));
  PetscFunctionReturn(0);
}
