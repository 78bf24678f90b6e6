/* tests/cluster/test_oracle.c: cluster a layered graph given as a raw file (int64 n_groups, int64 sizes,
   float64 blocks row-major), or with -model FILE the weight graph of a trained network (mc_io_model_read,
   mc_graph_build), and write what an oracle needs to -out (rank 0): int64 N, k, n_removed, then
   float64 eigenvalues[k], ncut, inertia, max_residual, then int64 labels[N]. Driven by cluster_oracle.py,
   which compares with SciPy and scikit-learn. */
#include <stdint.h>
#include "mc/cluster.h"
#include "mc/config.h"
#include "mc/graph.h"
#include "mc/io.h"
#include "mc/run.h"

/* Test input: every rank reads the small file itself. */
static PetscErrorCode graph_from_file(MPI_Comm comm, const char *in, MCGraph **g)
{
  FILE      *fp;
  int64_t    ng, *sz;
  PetscInt  *size;
  PetscReal **block;

  PetscFunctionBeginUser;
  fp = fopen(in, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", in);
  PetscCheck(fread(&ng, sizeof(ng), 1, fp) == 1 && ng >= 2 && ng < 1000, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "bad header in %s", in);
  PetscCall(PetscMalloc2(ng, &sz, ng, &size));
  PetscCheck(fread(sz, sizeof(int64_t), (size_t)ng, fp) == (size_t)ng, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "short file %s", in);
  PetscCall(PetscMalloc1(ng - 1, &block));
  for (int64_t q = 0; q < ng; ++q) size[q] = (PetscInt)sz[q];
  for (int64_t b = 0; b < ng - 1; ++b) {
    size_t m = (size_t)(sz[b] * sz[b + 1]);
    PetscCall(PetscMalloc1(m, &block[b]));
    PetscCheck(fread(block[b], sizeof(double), m, fp) == m, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "short file %s", in);
  }
  fclose(fp);
  PetscCall(mc_graph_from_blocks(comm, (PetscInt)ng, size, NULL, block, g));
  PetscCall(PetscFree2(sz, size));
  PetscFunctionReturn(0);
}

static PetscErrorCode graph_from_model(MPI_Comm comm, const char *path, MCGraph **g)
{
  MCConfig       *cfg;
  MCModel        *m;
  MCModelReadOpts mo;
  MCGraphOpts     go;
  char            text[PETSC_MAX_PATH_LEN + 64];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(text, sizeof(text), "[model]\npath = %s\n", path));
  PetscCall(mc_config_parse(comm, "test_oracle.ini", text, 0, NULL, &cfg));
  PetscCall(mc_run_model_read_opts(cfg, cfg->model_path, &mo));
  PetscCall(mc_run_graph_opts(cfg, &go));
  PetscCall(mc_io_model_read(comm, &mo, &m));
  PetscCall(mc_graph_build(comm, &go, m, g));
  PetscCall(mc_model_destroy(&m));
  PetscCall(mc_config_destroy(&cfg));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm      comm;
  char          in[PETSC_MAX_PATH_LEN] = "graph.bin", out[PETSC_MAX_PATH_LEN] = "result.bin", model[PETSC_MAX_PATH_LEN] = "";
  FILE         *fp;
  MCGraph      *g;
  MCClusterOpts opts = {0};
  MCClustering *c;
  MCGroups      gr;
  PetscMPIInt   rank;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  opts.k        = 8;
  opts.n_init   = 25;
  opts.max_iter = 300;
  opts.tol      = 1e-4;
  opts.eig_tol  = 1e-10;
  opts.seed     = 42;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-in", in, sizeof(in), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof(out), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-model", model, sizeof(model), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-k", &opts.k, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n_init", &opts.n_init, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-eig_tol", &opts.eig_tol, NULL));
  if (model[0]) PetscCall(graph_from_model(comm, model, &g));
  else PetscCall(graph_from_file(comm, in, &g));
  gr = mc_graph_groups(g);
  PetscCall(mc_cluster_graph(g->adj, &gr, &opts, &c));
  if (rank == 0) {
    int64_t hdr[3] = {c->n_nodes, c->k, c->n_removed};
    fp             = fopen(out, "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", out);
    fwrite(hdr, sizeof(int64_t), 3, fp);
    fwrite(c->eigenvalues, sizeof(PetscReal), (size_t)c->k, fp);
    fwrite(&c->ncut, sizeof(PetscReal), 1, fp);
    fwrite(&c->inertia, sizeof(PetscReal), 1, fp);
    fwrite(&c->max_residual, sizeof(PetscReal), 1, fp);
    for (PetscInt i = 0; i < c->n_nodes; ++i) {
      int64_t l = c->labels[i];
      fwrite(&l, sizeof(l), 1, fp);
    }
    fclose(fp);
  }
  PetscCall(PetscPrintf(comm, "oracle: N %" PetscInt_FMT " removed %" PetscInt_FMT " ncut %.15g inertia %.15g residual %.3g\n", c->n_nodes, c->n_removed,
                        (double)c->ncut, (double)c->inertia, (double)c->max_residual));
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(mc_graph_destroy(&g));
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  return 0;
}
