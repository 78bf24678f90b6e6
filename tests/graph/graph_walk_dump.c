/* tests/graph/graph_walk_dump.c: read a model through the project's readers (a config file, as modclust-mpi
   does) and build its weight graph with the config's [graph] keys; rank 0 writes the graph's groups and
   blocks for walker_oracle.py, which recomputes them with NumPy. Run at any rank count.
   Output (little-endian): int64 n_groups, n_blocks; per group int64 size, output flag, name length, name
   bytes; per block int64 row group, column group, then rows x cols float64.
   Usage: graph_walk_dump CONFIG.ini OUT */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "mc/graph.h"
#include "mc/io.h"
#include "mc/run.h"

static void put(FILE *fp, int64_t v)
{
  fwrite(&v, sizeof(v), 1, fp);
}

int main(int argc, char **argv)
{
  MCConfig       *cfg = NULL;
  MCModelReadOpts mo;
  MCGraphOpts     go;
  MCModel        *m = NULL;
  MCGraph        *g = NULL;
  PetscMPIInt     rank;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCheck(argc >= 3, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Usage: graph_walk_dump CONFIG.ini OUT");
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(mc_config_load(PETSC_COMM_WORLD, argv[1], 0, NULL, &cfg));
  PetscCall(mc_run_model_read_opts(cfg, cfg->model_path, &mo));
  PetscCall(mc_io_model_read(PETSC_COMM_WORLD, &mo, &m));
  PetscCall(mc_run_graph_opts(cfg, &go));
  go.kind = MC_GRAPH_WEIGHTS;
  PetscCall(mc_graph_build(PETSC_COMM_WORLD, &go, m, &g));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %" PetscInt_FMT " nodes in %" PetscInt_FMT " groups, %" PetscInt_FMT " blocks\n", m->source, g->n_nodes, g->n_groups, g->n_blocks));
  if (rank == 0) {
    FILE *fp = fopen(argv[2], "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s", argv[2]);
    put(fp, g->n_groups);
    put(fp, g->n_blocks);
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
      const char *name = m->layers[g->group_site[grp]].name;
      put(fp, g->group_offset[grp + 1] - g->group_offset[grp]);
      put(fp, g->group_role[grp] == MC_GROUP_OUTPUT ? 1 : 0);
      put(fp, (int64_t)strlen(name));
      fwrite(name, 1, strlen(name), fp);
    }
    for (PetscInt b = 0; b < g->n_blocks; ++b) {
      PetscInt nr, nc;
      mc_graph_block_dims(g, b, &nr, &nc);
      put(fp, g->block_pair[2 * b]);
      put(fp, g->block_pair[2 * b + 1]);
      fwrite(g->block[b], sizeof(PetscReal), (size_t)(nr * nc), fp);
    }
    fclose(fp);
  }
  PetscCall(mc_graph_destroy(&g));
  PetscCall(mc_model_destroy(&m));
  PetscCall(mc_config_destroy(&cfg));
  PetscCall(PetscFinalize());
  return 0;
}
