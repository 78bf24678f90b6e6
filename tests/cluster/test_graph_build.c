/* tests/cluster/test_graph_build.c: mc_graph_build on a small MLP and a small CNN with BatchNorm, built in
   memory (no reader involved). Hand-checked conv norms and error paths here; rank 0 writes the weights and
   every adjacency (for each conv_norm, fold_batchnorm and include_dense_head) to -out, and
   graph_oracle.py recomputes them with NumPy. */
#include <stdint.h>
#include <string.h>
#include "mc/graph.h"
#include "mc/sys.h"

static MCRng R;

static PetscErrorCode fill(float **p, PetscInt n, PetscReal lo, PetscReal hi)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, p));
  for (PetscInt i = 0; i < n; ++i) (*p)[i] = (float)(lo + (hi - lo) * mc_rng_uniform(&R));
  PetscFunctionReturn(0);
}

static PetscErrorCode add_weight(MCLayer *L, MCLayerType t, PetscInt kh, PetscInt kw, PetscInt n_in, PetscInt n_out)
{
  PetscFunctionBeginUser;
  L->type  = t;
  L->kh    = kh;
  L->kw    = kw;
  L->n_in  = n_in;
  L->n_out = n_out;
  PetscCall(PetscSNPrintf(L->name, sizeof(L->name), "%s_%d", t == MC_LAYER_DENSE ? "dense" : "conv", (int)n_out));
  PetscCall(fill(&L->weight, kh * kw * n_in * n_out, -1, 1));
  /* A few exact zeros, as in pruned networks. */
  for (PetscInt i = 0; i < kh * kw * n_in * n_out; i += 7) L->weight[i] = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode add_bn(MCLayer *L, PetscInt n, PetscBool has_gamma)
{
  PetscFunctionBeginUser;
  L->type  = MC_LAYER_BATCHNORM;
  L->n_in  = n;
  L->n_out = n;
  L->eps   = 1e-3f;
  PetscCall(PetscSNPrintf(L->name, sizeof(L->name), "bn_%d", (int)n));
  if (has_gamma) PetscCall(fill(&L->gamma, n, -2, 2)); /* negative scales must still give |.| edges */
  PetscCall(fill(&L->moving_var, n, 0.1, 3));
  PetscCall(fill(&L->moving_mean, n, -1, 1));
  PetscFunctionReturn(0);
}

static PetscErrorCode model_free(MCModel *m)
{
  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < m->n_layers; ++l) {
    MCLayer *L = &m->layers[l];
    PetscCall(PetscFree(L->weight));
    PetscCall(PetscFree(L->gamma));
    PetscCall(PetscFree(L->moving_var));
    PetscCall(PetscFree(L->moving_mean));
  }
  PetscCall(PetscFree(m->layers));
  PetscFunctionReturn(0);
}

/* MLP 6 -> dense 5 -> dropout -> dense 4 -> bn -> relu -> dense 3. */
static PetscErrorCode make_mlp(MCModel *m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  m->n_layers = 6;
  PetscCall(PetscCalloc1(m->n_layers, &m->layers));
  PetscCall(add_weight(&m->layers[0], MC_LAYER_DENSE, 1, 1, 6, 5));
  m->layers[1].type = MC_LAYER_DROPOUT;
  PetscCall(add_weight(&m->layers[2], MC_LAYER_DENSE, 1, 1, 5, 4));
  PetscCall(add_bn(&m->layers[3], 4, PETSC_TRUE));
  m->layers[4].type = MC_LAYER_ACTIVATION;
  PetscCall(add_weight(&m->layers[5], MC_LAYER_DENSE, 1, 1, 4, 3));
  PetscCall(PetscStrcpy(m->source, "mlp-in-memory"));
  PetscFunctionReturn(0);
}

/* CNN: conv 3x3 2->4, bn, pool, conv 3x2 4->5, relu, bn (no gamma), dropout, conv 2x3 5->3, flatten (2x2x3),
   dense 12->6, bn, dense 6->2. */
static PetscErrorCode make_cnn(MCModel *m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  m->n_layers = 12;
  PetscCall(PetscCalloc1(m->n_layers, &m->layers));
  PetscCall(add_weight(&m->layers[0], MC_LAYER_CONV2D, 3, 3, 2, 4));
  PetscCall(add_bn(&m->layers[1], 4, PETSC_TRUE));
  m->layers[2].type = MC_LAYER_MAXPOOL2D;
  PetscCall(add_weight(&m->layers[3], MC_LAYER_CONV2D, 3, 2, 4, 5));
  m->layers[4].type = MC_LAYER_ACTIVATION;
  PetscCall(add_bn(&m->layers[5], 5, PETSC_FALSE));
  m->layers[6].type = MC_LAYER_DROPOUT;
  PetscCall(add_weight(&m->layers[7], MC_LAYER_CONV2D, 2, 3, 5, 3));
  m->layers[8].type = MC_LAYER_FLATTEN;
  PetscCall(add_weight(&m->layers[9], MC_LAYER_DENSE, 1, 1, 12, 6));
  PetscCall(add_bn(&m->layers[10], 6, PETSC_TRUE));
  PetscCall(add_weight(&m->layers[11], MC_LAYER_DENSE, 1, 1, 6, 2));
  PetscCall(PetscStrcpy(m->source, "cnn-in-memory"));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_model(FILE *fp, const MCModel *m)
{
  int64_t n = m->n_layers;

  PetscFunctionBeginUser;
  fwrite(&n, sizeof(n), 1, fp);
  for (PetscInt l = 0; l < m->n_layers; ++l) {
    const MCLayer *L     = &m->layers[l];
    int64_t        h[6] = {L->type, L->n_in, L->n_out, L->kh, L->kw, L->gamma ? 1 : 0};
    fwrite(h, sizeof(int64_t), 6, fp);
    if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) fwrite(L->weight, sizeof(float), (size_t)(L->kh * L->kw * L->n_in * L->n_out), fp);
    if (L->type == MC_LAYER_BATCHNORM) {
      if (L->gamma) fwrite(L->gamma, sizeof(float), (size_t)L->n_out, fp);
      fwrite(L->moving_var, sizeof(float), (size_t)L->n_out, fp);
      fwrite(&L->eps, sizeof(float), 1, fp);
    }
  }
  PetscFunctionReturn(0);
}

/* Gather the adjacency densely on rank 0 and append it (with the group layout) to fp. */
static PetscErrorCode write_graph(MPI_Comm comm, FILE *fp, const MCGraph *g, const char *tag)
{
  PetscInt    N = g->n_nodes, rstart, rend;
  PetscReal  *D;
  PetscMPIInt rank, cnt;
  PetscBool   sym;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(MatIsSymmetric(g->adj, 0.0, &sym));
  PetscCheck(sym, comm, PETSC_ERR_PLIB, "%s: adjacency not symmetric", tag);
  PetscCall(PetscCalloc1(N * N, &D));
  PetscCall(MatGetOwnershipRange(g->adj, &rstart, &rend));
  for (PetscInt i = rstart; i < rend; ++i) {
    PetscInt           nz;
    const PetscInt    *c;
    const PetscScalar *v;
    PetscCall(MatGetRow(g->adj, i, &nz, &c, &v));
    for (PetscInt j = 0; j < nz; ++j) {
      PetscCheck(v[j] > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: stored entry (%" PetscInt_FMT ", %" PetscInt_FMT ") is not positive", tag, i, c[j]);
      D[i * N + c[j]] = PetscRealPart(v[j]);
    }
    PetscCall(MatRestoreRow(g->adj, i, &nz, &c, &v));
  }
  PetscCall(PetscMPIIntCast(N * N, &cnt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, D, cnt, MPIU_REAL, MPI_SUM, comm));
  /* The replicated blocks must match the matrix. */
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt o0 = g->group_offset[b], o1 = g->group_offset[b + 1], n0 = o1 - o0, n1 = g->group_offset[b + 2] - o1;
    for (PetscInt i = 0; i < n0; ++i)
      for (PetscInt j = 0; j < n1; ++j)
        PetscCheck(D[(o0 + i) * N + o1 + j] == g->block[b][i * n1 + j], comm, PETSC_ERR_PLIB, "%s: block %" PetscInt_FMT " differs from the matrix", tag, b);
  }
  if (rank == 0) {
    int64_t h[2] = {N, g->n_groups};
    fwrite(tag, 1, 32, fp);
    fwrite(h, sizeof(int64_t), 2, fp);
    for (PetscInt q = 0; q <= g->n_groups; ++q) {
      int64_t o = g->group_offset[q];
      fwrite(&o, sizeof(o), 1, fp);
    }
    for (PetscInt q = 0; q < g->n_groups; ++q) {
      int64_t o = g->group_layer[q];
      fwrite(&o, sizeof(o), 1, fp);
    }
    fwrite(D, sizeof(PetscReal), (size_t)(N * N), fp);
  }
  PetscCall(PetscFree(D));
  PetscFunctionReturn(0);
}

static PetscErrorCode hand_checks(void)
{
  const float S1[6] = {1, -2, 3, -4, 5, -6};          /* 2 x 3, row-major */
  const float S2[6] = {0.5f, -1.5f, 2, 0.25f, -1, 3}; /* 3 x 2 */
  PetscReal   w[16], v;

  PetscFunctionBeginUser;
  v = mc_graph_conv_norm(MC_CONV_NORM_L1, 2, 3, S1, 3, 1, w);
  PetscCheck(v == 21, PETSC_COMM_SELF, PETSC_ERR_PLIB, "l1 %g", (double)v);
  v = mc_graph_conv_norm(MC_CONV_NORM_INDUCED_L1, 2, 3, S1, 3, 1, w);
  PetscCheck(v == 9, PETSC_COMM_SELF, PETSC_ERR_PLIB, "induced_l1 %g", (double)v);
  v = mc_graph_conv_norm(MC_CONV_NORM_FRO, 2, 3, S1, 3, 1, w);
  PetscCheck(PetscAbsReal(v - PetscSqrtReal(91)) < 1e-14, PETSC_COMM_SELF, PETSC_ERR_PLIB, "fro %g", (double)v);
  v = mc_graph_conv_norm(MC_CONV_NORM_L2, 2, 3, S1, 3, 1, w);
  PetscCheck(PetscAbsReal(v - 9.508032000695724) < 1e-12, PETSC_COMM_SELF, PETSC_ERR_PLIB, "l2 %.17g", (double)v);
  v = mc_graph_conv_norm(MC_CONV_NORM_L2, 3, 2, S2, 2, 1, w);
  PetscCheck(PetscAbsReal(v - 3.5672758624985765) < 1e-7, PETSC_COMM_SELF, PETSC_ERR_PLIB, "l2 %.17g", (double)v);
  v = mc_graph_conv_norm(MC_CONV_NORM_INDUCED_L1, 3, 2, S2, 2, 1, w); /* columns: 0.5+2+1, 1.5+0.25+3 */
  PetscCheck(PetscAbsReal(v - 4.75) < 1e-7, PETSC_COMM_SELF, PETSC_ERR_PLIB, "induced_l1 %g", (double)v);
  PetscCheck(mc_graph_conv_norm((MCConvNorm)7, 2, 3, S1, 3, 1, w) < 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "unknown norm accepted");
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm    comm;
  MCGraphOpts go = {.kind = MC_GRAPH_WEIGHTS, .conv_norm = MC_CONV_NORM_L1};
  MCModel     mlp, cnn;
  MCGraph    *g;
  FILE       *fp = NULL;
  PetscMPIInt rank;
  char        out[PETSC_MAX_PATH_LEN] = "graph_build.bin";

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof(out), NULL));
  PetscCall(hand_checks());
  mc_rng_init(&R, 5, MC_STREAM_SYNTH, 77);
  PetscCall(make_mlp(&mlp));
  PetscCall(make_cnn(&cnn));
  if (rank == 0) {
    fp = fopen(out, "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", out);
    PetscCall(write_model(fp, &mlp));
    PetscCall(write_model(fp, &cnn));
  }
  for (int fold = 0; fold < 2; ++fold) {
    char tag[32];
    go.fold_batchnorm = fold ? PETSC_TRUE : PETSC_FALSE;
    go.conv_norm      = MC_CONV_NORM_L1;
    PetscCall(mc_graph_build(comm, &go, &mlp, &g));
    PetscCheck(g->n_nodes == 6 + 5 + 4 + 3 && g->n_groups == 4 && g->group_layer[0] == 0 && g->group_layer[3] == 3, comm, PETSC_ERR_PLIB, "MLP layout");
    PetscCall(PetscMemzero(tag, sizeof(tag)));
    PetscCall(PetscSNPrintf(tag, sizeof(tag), "mlp fold=%d", fold));
    PetscCall(write_graph(comm, fp, g, tag));
    PetscCall(mc_graph_destroy(&g));
    for (int head = 0; head < 2; ++head)
      for (int n = 0; n < 4; ++n) {
        go.include_dense_head = head ? PETSC_TRUE : PETSC_FALSE;
        go.conv_norm          = (MCConvNorm)n;
        PetscCall(mc_graph_build(comm, &go, &cnn, &g));
        PetscCheck(g->n_nodes == (head ? 4 + 5 + 3 + 6 + 2 : 4 + 5 + 3), comm, PETSC_ERR_PLIB, "CNN has %" PetscInt_FMT " nodes", g->n_nodes);
        PetscCheck(g->group_layer[0] == 1 && g->group_layer[2] == 3, comm, PETSC_ERR_PLIB, "CNN group layers");
        PetscCall(PetscMemzero(tag, sizeof(tag)));
        PetscCall(PetscSNPrintf(tag, sizeof(tag), "cnn fold=%d head=%d %s", fold, head, mc_graph_conv_norm_name(go.conv_norm)));
        PetscCall(write_graph(comm, fp, g, tag));
        PetscCall(mc_graph_destroy(&g));
      }
  }
  /* Error paths: an activation graph asked of mc_graph_build, unknown norm. */
  {
    PetscErrorCode ierr;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    go.kind = MC_GRAPH_ACTIVATIONS;
    ierr    = mc_graph_build(comm, &go, &mlp, &g);
    PetscCheck(ierr == PETSC_ERR_ARG_WRONG, comm, PETSC_ERR_PLIB, "mc_graph_build with kind = activations gave %d", (int)ierr);
    /* A norm out of range cannot come from the configuration (its values are checked there). */
    go.kind      = MC_GRAPH_WEIGHTS;
    go.conv_norm = (MCConvNorm)7;
    ierr         = mc_graph_build(comm, &go, &cnn, &g);
    PetscCheck(ierr == PETSC_ERR_PLIB, comm, PETSC_ERR_PLIB, "conv_norm out of range gave %d", (int)ierr);
    PetscCall(PetscPopErrorHandler());
  }
  if (fp) fclose(fp);
  PetscCall(model_free(&mlp));
  PetscCall(model_free(&cnn));
  PetscCall(PetscPrintf(comm, "graph build: ok\n"));
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  return 0;
}
