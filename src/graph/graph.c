/* src/graph/graph.c: the neuron graph from layer weights (docs/method.md section 2), assembled row by row on
   the owning ranks from dense inter-group blocks that every rank holds. */
#include <math.h>
#include <string.h>
#include "graph_impl.h"
#include "mc/sys.h"

/* Largest eigenvalue of the symmetric n x n matrix B (row-major, destroyed) by cyclic Jacobi rotations.
   Used for the spectral norm of small kernel slices, where LAPACK's call overhead would dominate. */
static PetscReal jacobi_max_eig(PetscInt n, PetscReal B[])
{
  PetscReal best;

  for (PetscInt sweep = 0; sweep < 60; ++sweep) {
    PetscReal off = 0, diag = 0;
    for (PetscInt p = 0; p < n; ++p) {
      diag += B[p * n + p] * B[p * n + p];
      for (PetscInt q = p + 1; q < n; ++q) off += B[p * n + q] * B[p * n + q];
    }
    if (off <= 1e-32 * diag || off == 0) break;
    for (PetscInt p = 0; p < n; ++p) {
      for (PetscInt q = p + 1; q < n; ++q) {
        PetscReal apq = B[p * n + q], app, aqq, theta, t, c, s;
        if (apq == 0) continue;
        app   = B[p * n + p];
        aqq   = B[q * n + q];
        theta = (aqq - app) / (2 * apq);
        t     = (theta >= 0 ? 1.0 : -1.0) / (PetscAbsReal(theta) + PetscSqrtReal(theta * theta + 1));
        c     = 1 / PetscSqrtReal(t * t + 1);
        s     = t * c;
        /* B <- J^T B J with the rotation in the (p, q) plane. */
        for (PetscInt r = 0; r < n; ++r) {
          PetscReal brp = B[r * n + p], brq = B[r * n + q];
          B[r * n + p] = c * brp - s * brq;
          B[r * n + q] = s * brp + c * brq;
        }
        for (PetscInt r = 0; r < n; ++r) {
          PetscReal bpr = B[p * n + r], bqr = B[q * n + r];
          B[p * n + r] = c * bpr - s * bqr;
          B[q * n + r] = s * bpr + c * bqr;
        }
      }
    }
  }
  best = B[0];
  for (PetscInt p = 1; p < n; ++p) best = PetscMax(best, B[p * n + p]);
  return best;
}

const char *mc_graph_kind_name(MCGraphKind kind)
{
  static const char *const names[] = {"weights", "activations"};

  return (kind >= 0 && (size_t)kind < sizeof(names) / sizeof(names[0])) ? names[kind] : "unknown";
}

const char *mc_graph_conv_norm_name(MCConvNorm norm)
{
  static const char *const names[] = {"l1", "induced_l1", "l2", "fro"};

  return (norm >= 0 && (size_t)norm < sizeof(names) / sizeof(names[0])) ? names[norm] : "unknown";
}

const char *mc_graph_spatial_norm_name(MCSpatialNorm norm)
{
  return norm == MC_SPATIAL_MEAN ? "mean" : mc_graph_conv_norm_name((MCConvNorm)norm);
}

const char *mc_graph_scope_name(MCScope scope)
{
  static const char *const names[] = {"global", "local"};

  return (scope >= 0 && (size_t)scope < sizeof(names) / sizeof(names[0])) ? names[scope] : "unknown";
}

static const char *const partitioning_names[2][2] = {{"weights_global", "weights_local"}, {"activations_global", "activations_local"}};

const char *mc_graph_partitioning_name(MCGraphKind kind, MCScope scope)
{
  return (kind >= 0 && kind <= 1 && scope >= 0 && scope <= 1) ? partitioning_names[kind][scope] : "unknown";
}

PetscBool mc_graph_partitioning_parse(const char *name, MCGraphKind *kind, MCScope *scope)
{
  for (int k = 0; k < 2; ++k)
    for (int s = 0; s < 2; ++s)
      if (!strcmp(name, partitioning_names[k][s])) {
        *kind  = (MCGraphKind)k;
        *scope = (MCScope)s;
        return PETSC_TRUE;
      }
  return PETSC_FALSE;
}

const char *mc_graph_corr_name(MCCorr corr)
{
  static const char *const names[] = {"spearman", "pearson", "kendall"};

  return (corr >= 0 && (size_t)corr < sizeof(names) / sizeof(names[0])) ? names[corr] : "unknown";
}

PetscReal mc_graph_conv_norm(MCConvNorm norm, PetscInt kh, PetscInt kw, const float *S, PetscInt rs, PetscInt cs,
                             PetscReal work[])
{
  PetscReal v = 0;

  if (norm == MC_CONV_NORM_L1) {
    for (PetscInt a = 0; a < kh; ++a)
      for (PetscInt b = 0; b < kw; ++b) v += PetscAbsReal((PetscReal)S[a * rs + b * cs]);
  } else if (norm == MC_CONV_NORM_FRO) {
    for (PetscInt a = 0; a < kh; ++a)
      for (PetscInt b = 0; b < kw; ++b) v += (PetscReal)S[a * rs + b * cs] * (PetscReal)S[a * rs + b * cs];
    v = PetscSqrtReal(v);
  } else if (norm == MC_CONV_NORM_INDUCED_L1) {
    /* The reference code's reduction: the largest column sum, columns being the kw positions. */
    for (PetscInt b = 0; b < kw; ++b) {
      PetscReal col = 0;
      for (PetscInt a = 0; a < kh; ++a) col += PetscAbsReal((PetscReal)S[a * rs + b * cs]);
      v = PetscMax(v, col);
    }
  } else if (norm == MC_CONV_NORM_L2) {
    /* sigma_max(S)^2 = lambda_max of the smaller Gram matrix. */
    if (kh == 1 || kw == 1) {
      for (PetscInt a = 0; a < kh; ++a)
        for (PetscInt b = 0; b < kw; ++b) v += (PetscReal)S[a * rs + b * cs] * (PetscReal)S[a * rs + b * cs];
    } else {
      /* Gram matrix over the shorter side: m x m with m = min(kh, kw); `ms` strides along that side, `ls`
         along the longer one of length l. */
      PetscInt m = PetscMin(kh, kw), l = PetscMax(kh, kw), ms = kw <= kh ? cs : rs, ls = kw <= kh ? rs : cs;
      for (PetscInt p = 0; p < m; ++p)
        for (PetscInt q = 0; q < m; ++q) {
          PetscReal g = 0;
          for (PetscInt a = 0; a < l; ++a) g += (PetscReal)S[a * ls + p * ms] * (PetscReal)S[a * ls + q * ms];
          work[p * m + q] = g;
        }
      v = jacobi_max_eig(m, work);
    }
    v = PetscSqrtReal(PetscMax(v, 0));
  } else v = -1;
  return v;
}

/* Assemble g->adj from g's groups and blocks: each rank inserts only its own rows, with exact
   preallocation (entries that are exactly zero give no edge). */
/* This rank's rows in PETSc's split CSR form, owned by the adjacency matrix through a container. */
typedef struct {
  PetscInt  *di, *dj, *oi, *oj;
  PetscReal *da, *oa;
} SplitCSR;

static PetscErrorCode split_csr_destroy(void *ctx)
{
  SplitCSR *c = (SplitCSR *)ctx;

  PetscFunctionBeginUser;
  PetscCall(PetscFree2(c->di, c->oi));
  PetscCall(PetscFree2(c->dj, c->da));
  PetscCall(PetscFree2(c->oj, c->oa));
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

/* The blocks touching each group, by partner group ascending (so a row's columns come out ascending):
   entries inc[inc_off[gi] .. inc_off[gi + 1]) are 2 * block + side, side 1 when gi is the block's row group
   (its row u), 0 when it is the column group (its column u). Caller frees *inc_off and *inc (PetscFree2). */
static PetscErrorCode incidence(const MCGraph *g, PetscInt **inc_off, PetscInt **inc)
{
  PetscInt *off, *e, *fill, G = g->n_groups;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(G + 1, &off, PetscMax(2 * g->n_blocks, 1), &e));
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    off[g->block_pair[2 * b] + 1]++;
    off[g->block_pair[2 * b + 1] + 1]++;
  }
  for (PetscInt gi = 0; gi < G; ++gi) off[gi + 1] += off[gi];
  PetscCall(PetscMalloc1(G, &fill));
  for (PetscInt gi = 0; gi < G; ++gi) fill[gi] = off[gi];
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    e[fill[g->block_pair[2 * b]]++]     = 2 * b + 1;
    e[fill[g->block_pair[2 * b + 1]]++] = 2 * b;
  }
  PetscCall(PetscFree(fill));
  /* Insertion sort by partner group: a group has few blocks. */
  for (PetscInt gi = 0; gi < G; ++gi)
    for (PetscInt i = off[gi] + 1; i < off[gi + 1]; ++i) {
      PetscInt v = e[i], pv = g->block_pair[2 * (v / 2) + (v % 2)], j = i;
      while (j > off[gi] && g->block_pair[2 * (e[j - 1] / 2) + (e[j - 1] % 2)] > pv) {
        e[j] = e[j - 1];
        j--;
      }
      e[j] = v;
    }
  *inc_off = off;
  *inc     = e;
  PetscFunctionReturn(0);
}

void mc_graph_block_dims(const MCGraph *g, PetscInt b, PetscInt *n_row, PetscInt *n_col)
{
  PetscInt r = g->block_pair[2 * b], c = g->block_pair[2 * b + 1];

  *n_row = g->group_offset[r + 1] - g->group_offset[r];
  *n_col = g->group_offset[c + 1] - g->group_offset[c];
}

static PetscErrorCode graph_assemble(MPI_Comm comm, MCGraph *g)
{
  PetscInt  N = g->n_nodes, nloc = PETSC_DECIDE, rstart = 0, rend, grp = 0, *inc_off, *inc;
  SplitCSR *csr;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_GRAPH_ASSEMBLE], 0, 0, 0, 0));
  PetscCall(PetscSplitOwnership(comm, &nloc, &N));
  PetscCall(mc_sys_ownership_start(comm, nloc, &rstart));
  rend = rstart + nloc;
  PetscCall(incidence(g, &inc_off, &inc));
  /* Two passes over the owned rows: count, then fill this rank's rows as PETSc's "split" CSR arrays (the
     diagonal block with local column indices, the off-diagonal block with global ones), which the matrix
     then uses in place: no per-entry insertion, no copy. Row u of group gi takes row u of each block where
     gi is the row group and column u of each block where it is the column group, partner groups in
     ascending order, so the columns come out ascending. */
  PetscCall(PetscNew(&csr));
  PetscCall(PetscCalloc2(nloc + 1, &csr->di, nloc + 1, &csr->oi));
  for (int pass = 0; pass < 2; ++pass) {
    grp = 0;
    for (PetscInt i = rstart; i < rend; ++i) {
      PetscInt u, r = i - rstart, nd = 0, no = 0;
      while (i >= g->group_offset[grp + 1]) grp++;
      u = i - g->group_offset[grp];
      for (PetscInt q = inc_off[grp]; q < inc_off[grp + 1]; ++q) {
        PetscInt         b = inc[q] / 2, n_row, n_col, n, off, stride;
        const PetscReal *B;
        mc_graph_block_dims(g, b, &n_row, &n_col);
        if (inc[q] % 2) { /* row u of block b; columns in the column group */
          n = n_col, off = g->group_offset[g->block_pair[2 * b + 1]], stride = 1, B = g->block[b] + u * n_col;
        } else { /* column u of block b; columns in the row group */
          n = n_row, off = g->group_offset[g->block_pair[2 * b]], stride = n_col, B = g->block[b] + u;
        }
        for (PetscInt c = 0; c < n; ++c) {
          PetscReal v = B[c * stride];
          PetscInt  col = off + c;
          if (v == 0) continue;
          if (col >= rstart && col < rend) {
            if (pass) {
              csr->dj[csr->di[r] + nd] = col - rstart;
              csr->da[csr->di[r] + nd] = v;
            }
            nd++;
          } else {
            if (pass) {
              csr->oj[csr->oi[r] + no] = col;
              csr->oa[csr->oi[r] + no] = v;
            }
            no++;
          }
        }
      }
      if (!pass) {
        csr->di[r + 1] = csr->di[r] + nd;
        csr->oi[r + 1] = csr->oi[r] + no;
      }
    }
    if (!pass) {
      PetscCall(PetscMalloc2(csr->di[nloc], &csr->dj, csr->di[nloc], &csr->da));
      PetscCall(PetscMalloc2(csr->oi[nloc], &csr->oj, csr->oi[nloc], &csr->oa));
    }
  }
  PetscCall(PetscFree2(inc_off, inc));
  PetscCall(MatCreateMPIAIJWithSplitArrays(comm, nloc, nloc, N, N, csr->di, csr->dj, csr->da, csr->oi, csr->oj, csr->oa, &g->adj));
  /* The matrix borrows the arrays: they live in a container composed on it, freed with it. */
  {
    PetscContainer cont;
    PetscCall(PetscContainerCreate(comm, &cont));
    PetscCall(PetscContainerSetPointer(cont, csr));
    PetscCall(PetscContainerSetUserDestroy(cont, split_csr_destroy));
    PetscCall(PetscObjectCompose((PetscObject)g->adj, "mc_graph_csr", (PetscObject)cont));
    PetscCall(PetscContainerDestroy(&cont));
  }
  PetscCall(MatAssemblyBegin(g->adj, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(g->adj, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(g->adj, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(g->adj, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_GRAPH_ASSEMBLE], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

MCGroups mc_graph_groups(const MCGraph *g)
{
  MCGroups gr = {g->layered ? g->n_groups : 0, g->layered ? g->group_offset : NULL};

  return gr;
}

static PetscErrorCode free_blocks(PetscInt n_blocks, PetscReal **block)
{
  PetscFunctionBeginUser;
  if (!block) PetscFunctionReturn(0);
  for (PetscInt b = 0; b < n_blocks; ++b) PetscCall(PetscFree(block[b]));
  PetscCall(PetscFree(block));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_graph_from_pairs(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[], PetscInt n_blocks,
                                   const PetscInt pair[], PetscReal **block, MCGraph **out)
{
  MCGraph *g;
  PetscInt bad = -1, bad_pair = -1, empty = -1;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n_groups && empty < 0; ++i)
    if (group_size[i] <= 0) empty = i;
  for (PetscInt b = 0; b < n_blocks && bad_pair < 0; ++b) {
    if (!(0 <= pair[2 * b] && pair[2 * b] < pair[2 * b + 1] && pair[2 * b + 1] < n_groups)) bad_pair = b;
    for (PetscInt c = 0; c < b && bad_pair < 0; ++c)
      if (pair[2 * c] == pair[2 * b] && pair[2 * c + 1] == pair[2 * b + 1]) bad_pair = b;
  }
  if (n_groups < 1 || empty >= 0 || bad_pair >= 0) PetscCall(free_blocks(n_blocks, block));
  PetscCheck(n_groups >= 1, comm, PETSC_ERR_USER_INPUT, "A graph needs at least one node group, got %" PetscInt_FMT, n_groups);
  PetscCheck(empty < 0, comm, PETSC_ERR_USER_INPUT, "Node group %" PetscInt_FMT " is empty", empty);
  PetscCheck(bad_pair < 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Graph block %" PetscInt_FMT " joins groups %" PetscInt_FMT " and %" PetscInt_FMT ": not two groups of %" PetscInt_FMT " in ascending order, or a pair given twice",
             bad_pair, pair[2 * bad_pair], pair[2 * bad_pair + 1], n_groups);
  PetscCall(PetscNew(&g));
  g->n_groups = n_groups;
  g->n_blocks = n_blocks;
  g->block    = block;
  g->layered  = PETSC_TRUE;
  PetscCall(PetscMalloc1(PetscMax(2 * n_blocks, 1), &g->block_pair));
  for (PetscInt b = 0; b < n_blocks; ++b) {
    g->block_pair[2 * b]     = pair[2 * b];
    g->block_pair[2 * b + 1] = pair[2 * b + 1];
    if (pair[2 * b + 1] != pair[2 * b] + 1) g->layered = PETSC_FALSE;
  }
  PetscCall(PetscMalloc2(n_groups + 1, &g->group_offset, n_groups, &g->group_layer));
  g->group_offset[0] = 0;
  for (PetscInt i = 0; i < n_groups; ++i) {
    g->group_offset[i + 1] = g->group_offset[i] + group_size[i];
    g->group_layer[i]      = group_layer ? group_layer[i] : i;
  }
  g->n_nodes = g->group_offset[n_groups];
  /* Weights are replicated, so this check gives the same answer on every rank. */
  for (PetscInt b = 0; b < g->n_blocks && bad < 0; ++b) {
    PetscInt nr, nc;
    mc_graph_block_dims(g, b, &nr, &nc);
    for (PetscInt e = 0; e < nr * nc; ++e)
      if (!(block[b][e] >= 0) || PetscIsInfReal(block[b][e])) {
        bad = b;
        break;
      }
  }
  if (bad >= 0) PetscCall(mc_graph_destroy(&g));
  PetscCheck(bad < 0, comm, PETSC_ERR_USER_INPUT, "Graph block %" PetscInt_FMT " has a negative, NaN or infinite edge weight", bad);
  PetscCall(graph_assemble(comm, g));
  PetscCall(mc__graph_block_operator(g));
  *out = g;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_graph_from_blocks(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[],
                                    PetscReal **block, MCGraph **out)
{
  PetscInt *pair, nb = PetscMax(n_groups - 1, 0);

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(2 * nb, 1), &pair));
  for (PetscInt b = 0; b < nb; ++b) {
    pair[2 * b]     = b;
    pair[2 * b + 1] = b + 1;
  }
  PetscCall(mc_graph_from_pairs(comm, n_groups, group_size, group_layer, nb, pair, block, out));
  PetscCall(PetscFree(pair));
  PetscFunctionReturn(0);
}

const char *mc_graph_group_name(const MCGraph *g, const MCModel *m, PetscInt grp, char buf[], size_t n)
{
  if (!g->group_site || mc_model_is_chain(m)) return mc_model_unit_layer_name(m, g->group_layer[grp]);
  (void)PetscSNPrintf(buf, n, "%s of %s", g->group_role[grp] == MC_GROUP_OUTPUT ? "output" : "input", m->layers[g->group_site[grp]].name);
  return buf;
}

void mc_graph_node_info(const MCGraph *g, PetscInt i, PetscInt *layer, PetscInt *unit)
{
  PetscInt lo = 0, hi = g->n_groups; /* group_offset[lo] <= i < group_offset[hi] */

  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    if (g->group_offset[mid] <= i) lo = mid;
    else hi = mid;
  }
  if (layer) *layer = g->group_layer[lo];
  if (unit) *unit = i - g->group_offset[lo];
}

PetscErrorCode mc_graph_destroy(MCGraph **g)
{
  PetscFunctionBeginUser;
  if (!g || !*g) PetscFunctionReturn(0);
  PetscCall(MatDestroy(&(*g)->adj));
  PetscCall(free_blocks((*g)->n_blocks, (*g)->block));
  PetscCall(PetscFree((*g)->block_pair));
  PetscCall(PetscFree2((*g)->group_offset, (*g)->group_layer));
  PetscCall(PetscFree2((*g)->group_site, (*g)->group_role));
  PetscCall(PetscFree((*g)->sample));
  PetscCall(PetscFree((*g)->activation));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(0);
}

/* ---- From a model ---- */

const char *mc_graph_bn_negative_name(MCBNNegative mode)
{
  static const char *const names[] = {"keep", "clip"};

  return (mode >= 0 && (size_t)mode < sizeof(names) / sizeof(names[0])) ? names[mode] : "unknown";
}

PetscErrorCode mc_graph_build(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, MCGraph **out)
{
  MCGraphParts p;
  MCGraph     *g;

  PetscFunctionBeginUser;
  PetscCheck(opts->kind != MC_GRAPH_ACTIVATIONS, comm, PETSC_ERR_ARG_WRONG, "activation graphs are built by mc_graph_build_activations");
  PetscCheck(opts->kind == MC_GRAPH_WEIGHTS, comm, PETSC_ERR_PLIB, "graph kind %d out of range", (int)opts->kind);
  PetscCheck(opts->conv_norm >= MC_CONV_NORM_L1 && opts->conv_norm <= MC_CONV_NORM_FRO, comm, PETSC_ERR_PLIB, "graph conv norm %d out of range", (int)opts->conv_norm);
  {
    PetscInt n_w = 0;
    for (PetscInt l = 0; l < model->n_layers; ++l) n_w += model->layers[l].type == MC_LAYER_DENSE || model->layers[l].type == MC_LAYER_CONV2D;
    PetscCheck(n_w > 0, comm, PETSC_ERR_USER_INPUT, "Model '%s' has no Dense or Conv2D layer, so it has no weight graph", model->source);
  }
  PetscCall(mc__graph_walk(comm, opts, model, &p));
  PetscCall(mc_graph_from_pairs(comm, p.n_groups, p.size, p.layer, p.n_blocks, p.pair, p.block, &g));
  PetscCall(PetscMalloc2(p.n_groups, &g->group_site, p.n_groups, &g->group_role));
  PetscCall(PetscArraycpy(g->group_site, p.site, p.n_groups));
  PetscCall(PetscArraycpy(g->group_role, p.role, p.n_groups));
  g->branched = mc_model_is_chain(model) ? PETSC_FALSE : PETSC_TRUE;
  PetscCall(PetscFree(p.pair));
  PetscCall(PetscFree4(p.size, p.layer, p.site, p.role));
  *out = g;
  PetscFunctionReturn(0);
}
