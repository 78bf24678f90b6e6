/* src/graph/graph.c: the neuron graph from layer weights (docs/method.md section 2), assembled row by row on
   the owning ranks from dense inter-group blocks that every rank holds. */
#include <math.h>
#include <string.h>
#include "mc/graph.h"
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

static PetscErrorCode graph_assemble(MPI_Comm comm, MCGraph *g)
{
  PetscInt  N = g->n_nodes, nloc = PETSC_DECIDE, rstart = 0, rend, grp = 0;
  SplitCSR *csr;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_GRAPH_ASSEMBLE], 0, 0, 0, 0));
  PetscCall(PetscSplitOwnership(comm, &nloc, &N));
  PetscCall(mc_sys_ownership_start(comm, nloc, &rstart));
  rend = rstart + nloc;
  /* Two passes over the owned rows: count, then fill this rank's rows as PETSc's "split" CSR arrays (the
     diagonal block with local column indices, the off-diagonal block with global ones), which the matrix
     then uses in place: no per-entry insertion, no copy. Row u of group gi has column u of block gi-1
     (edges to group gi-1) and row u of block gi (edges to group gi+1), already in ascending column order. */
  PetscCall(PetscNew(&csr));
  PetscCall(PetscCalloc2(nloc + 1, &csr->di, nloc + 1, &csr->oi));
  for (int pass = 0; pass < 2; ++pass) {
    grp = 0;
    for (PetscInt i = rstart; i < rend; ++i) {
      PetscInt u, r = i - rstart, nd = 0, no = 0;
      while (i >= g->group_offset[grp + 1]) grp++;
      u = i - g->group_offset[grp];
      for (int side = 0; side < 2; ++side) {
        PetscInt         n, off, stride;
        const PetscReal *B;
        if (side == 0) { /* column u of block grp-1 */
          if (grp == 0) continue;
          n = g->group_offset[grp] - g->group_offset[grp - 1], off = g->group_offset[grp - 1];
          stride = g->group_offset[grp + 1] - g->group_offset[grp], B = g->block[grp - 1] + u;
        } else { /* row u of block grp */
          if (grp + 1 >= g->n_groups) continue;
          n = g->group_offset[grp + 2] - g->group_offset[grp + 1], off = g->group_offset[grp + 1];
          stride = 1, B = g->block[grp] + u * n;
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

PetscErrorCode mc_graph_from_blocks(MPI_Comm comm, PetscInt n_groups, const PetscInt group_size[], const PetscInt group_layer[],
                                    PetscReal **block, MCGraph **out)
{
  MCGraph *g;
  PetscInt bad = -1;

  PetscFunctionBeginUser;
  PetscCheck(n_groups >= 1, comm, PETSC_ERR_USER_INPUT, "A graph needs at least one node group, got %" PetscInt_FMT, n_groups);
  PetscCall(PetscNew(&g));
  g->n_groups = n_groups;
  g->n_blocks = n_groups - 1;
  g->block    = block;
  g->layered  = PETSC_TRUE;
  PetscCall(PetscMalloc2(n_groups + 1, &g->group_offset, n_groups, &g->group_layer));
  g->group_offset[0] = 0;
  for (PetscInt i = 0; i < n_groups; ++i) {
    PetscCheck(group_size[i] > 0, comm, PETSC_ERR_USER_INPUT, "Node group %" PetscInt_FMT " is empty", i);
    g->group_offset[i + 1] = g->group_offset[i] + group_size[i];
    g->group_layer[i]      = group_layer ? group_layer[i] : i;
  }
  g->n_nodes = g->group_offset[n_groups];
  /* Weights are replicated, so this check gives the same answer on every rank. */
  for (PetscInt b = 0; b < g->n_blocks && bad < 0; ++b) {
    PetscInt n = group_size[b] * group_size[b + 1];
    for (PetscInt e = 0; e < n; ++e)
      if (!(block[b][e] >= 0) || PetscIsInfReal(block[b][e])) {
        bad = b;
        break;
      }
  }
  PetscCheck(bad < 0, comm, PETSC_ERR_USER_INPUT, "Graph block %" PetscInt_FMT " has a negative, NaN or infinite edge weight", bad);
  PetscCall(graph_assemble(comm, g));
  *out = g;
  PetscFunctionReturn(0);
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
  if ((*g)->block) {
    for (PetscInt b = 0; b < (*g)->n_blocks; ++b) PetscCall(PetscFree((*g)->block[b]));
    PetscCall(PetscFree((*g)->block));
  }
  PetscCall(PetscFree2((*g)->group_offset, (*g)->group_layer));
  PetscCall(PetscFree((*g)->sample));
  PetscCall(PetscFree((*g)->activation));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(0);
}

/* ---- From a model ---- */

static PetscBool is_weight_layer(const MCLayer *L)
{
  return (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) ? PETSC_TRUE : PETSC_FALSE;
}

/* The block |W| of Dense layer L with its output columns scaled by s (n_in x n_out, row-major); caller
   frees it. */
static PetscErrorCode dense_block(const MCLayer *L, const PetscReal s[], PetscReal **B)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(L->n_in * L->n_out, B));
  for (PetscInt a = 0; a < L->n_in; ++a)
    for (PetscInt b = 0; b < L->n_out; ++b) (*B)[a * L->n_out + b] = PetscAbsReal((PetscReal)L->weight[a * L->n_out + b]) * s[b];
  PetscFunctionReturn(0);
}

/* Per-output scale |s_j| of weight layer `li` from the BatchNormalization layers between it and the next
   weight layer (1 when there is none or folding is off). */
static PetscErrorCode bn_scale(MPI_Comm comm, const MCModel *m, PetscInt li, PetscBool fold, PetscReal s[])
{
  const MCLayer *W = &m->layers[li];

  PetscFunctionBeginUser;
  for (PetscInt j = 0; j < W->n_out; ++j) s[j] = 1;
  if (!fold) PetscFunctionReturn(0);
  for (PetscInt l = li + 1; l < m->n_layers && !is_weight_layer(&m->layers[l]); ++l) {
    const MCLayer *B = &m->layers[l];
    if (B->type != MC_LAYER_BATCHNORM) continue;
    PetscCheck(B->n_out == W->n_out || B->n_out == 0, comm, PETSC_ERR_USER_INPUT,
               "BatchNormalization layer '%s' has %" PetscInt_FMT " channels but follows '%s' with %" PetscInt_FMT " outputs", B->name,
               B->n_out, W->name, W->n_out);
    PetscCheck(B->moving_var, comm, PETSC_ERR_USER_INPUT, "BatchNormalization layer '%s' has no moving variance", B->name);
    for (PetscInt j = 0; j < W->n_out; ++j) {
      PetscReal gam = B->gamma ? (PetscReal)B->gamma[j] : 1.0;
      PetscReal den = PetscSqrtReal((PetscReal)B->moving_var[j] + (PetscReal)B->eps);
      PetscCheck(den > 0, comm, PETSC_ERR_USER_INPUT, "BatchNormalization layer '%s' channel %" PetscInt_FMT " has variance + eps <= 0", B->name, j);
      s[j] *= PetscAbsReal(gam / den);
    }
  }
  PetscFunctionReturn(0);
}

/* Block of edges between conv layer `prev` (its outputs are the rows) and conv layer `cur`: the norm of
   each kernel slice K[:, :, i, j] of `cur`, times the BatchNorm scale of output channel j. Rows are split
   over the ranks and gathered, so every rank ends with the same block and the work is shared. */
static PetscErrorCode conv_block(MPI_Comm comm, const MCLayer *cur, MCConvNorm norm, const PetscReal s[], PetscReal **out)
{
  PetscInt   cin = cur->n_in, cout = cur->n_out, kh = cur->kh, kw = cur->kw, lo, hi, nloc = PETSC_DECIDE, n = cin;
  PetscReal *B, *work;

  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(comm, &nloc, &n));
  PetscCall(mc_sys_ownership_start(comm, nloc, &lo));
  hi = lo + nloc;
  PetscCall(PetscMalloc1(cin * cout, &B));
  PetscCall(PetscMalloc1(PetscMax(kh, kw) * PetscMax(kh, kw), &work));
  for (PetscInt i = lo; i < hi; ++i)
    for (PetscInt j = 0; j < cout; ++j) {
      /* K[a][b][i][j] sits at ((a * kw + b) * cin + i) * cout + j. */
      const float *S = cur->weight + i * cout + j;
      B[i * cout + j] = mc_graph_conv_norm(norm, kh, kw, S, kw * cin * cout, cin * cout, work) * s[j];
    }
  PetscCall(PetscFree(work));
  PetscCall(mc_sys_gatherv(comm, -1, MPI_IN_PLACE, nloc * cout, MPIU_REAL, B));
  *out = B;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_graph_build(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, MCGraph **out)
{
  PetscInt   n_w = 0, *widx, n_conv = 0, n_groups = 0, *gsize, *glayer, first_dense = -1;
  PetscReal **blocks, *s;
  PetscBool  cnn, head = opts->include_dense_head, fold = opts->fold_batchnorm;
  MCConvNorm norm = opts->conv_norm;

  PetscFunctionBeginUser;
  PetscCheck(opts->kind != MC_GRAPH_ACTIVATIONS, comm, PETSC_ERR_ARG_WRONG, "activation graphs are built by mc_graph_build_activations");
  PetscCheck(opts->kind == MC_GRAPH_WEIGHTS, comm, PETSC_ERR_PLIB, "graph kind %d out of range", (int)opts->kind);
  PetscCheck(norm >= MC_CONV_NORM_L1 && norm <= MC_CONV_NORM_FRO, comm, PETSC_ERR_PLIB, "graph conv norm %d out of range", (int)norm);
  PetscCheck(mc_model_is_chain(model), comm, PETSC_ERR_SUP,
             "The weight graph of '%s' cannot be built yet: it has branches, merges (Add, Concatenate, Multiply) or grouped convolutions, and the weight graph "
             "handles sequential chains so far (graph.kind = activations works on any network)",
             model->source);
  PetscCall(PetscMalloc1(model->n_layers + 1, &widx));
  for (PetscInt l = 0; l < model->n_layers; ++l) {
    const MCLayer *L = &model->layers[l];
    if (!is_weight_layer(L)) continue;
    PetscCheck(L->weight && L->n_in > 0 && L->n_out > 0, comm, PETSC_ERR_USER_INPUT, "Layer '%s' of model '%s' has no weights", L->name,
               model->source);
    if (L->type == MC_LAYER_CONV2D) {
      PetscCheck(first_dense < 0, comm, PETSC_ERR_SUP, "Conv2D layer '%s' follows a Dense layer in model '%s'; such graphs are not supported",
                 L->name, model->source);
      PetscCheck(L->kh > 0 && L->kw > 0, comm, PETSC_ERR_USER_INPUT, "Conv2D layer '%s' has an empty kernel", L->name);
      n_conv++;
    } else if (first_dense < 0) first_dense = n_w;
    widx[n_w++] = l;
  }
  PetscCheck(n_w > 0, comm, PETSC_ERR_USER_INPUT, "Model '%s' has no Dense or Conv2D layer, so it has no weight graph", model->source);
  cnn = n_conv > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscMalloc2(n_w + 1, &gsize, n_w + 1, &glayer));
  PetscCall(PetscMalloc1(n_w, &blocks)); /* ownership passes to the graph */
  {
    PetscInt maxw = 0;
    for (PetscInt w = 0; w < n_w; ++w) maxw = PetscMax(maxw, model->layers[widx[w]].n_out);
    PetscCall(PetscMalloc1(maxw, &s));
  }
  if (!cnn) {
    /* MLP: input features, then every Dense layer's outputs; block l is |W_l|. */
    gsize[0]  = model->layers[widx[0]].n_in;
    glayer[0] = 0;
    n_groups  = 1;
    for (PetscInt w = 0; w < n_w; ++w) {
      const MCLayer *L = &model->layers[widx[w]];
      PetscReal     *B;
      PetscCheck(L->n_in == gsize[n_groups - 1], comm, PETSC_ERR_USER_INPUT,
                 "Dense layer '%s' expects %" PetscInt_FMT " inputs but the previous layer has %" PetscInt_FMT " units", L->name, L->n_in,
                 gsize[n_groups - 1]);
      PetscCall(bn_scale(comm, model, widx[w], fold, s));
      PetscCall(dense_block(L, s, &B));
      blocks[n_groups - 1] = B;
      gsize[n_groups]      = L->n_out;
      glayer[n_groups]     = w + 1;
      n_groups++;
    }
  } else {
    /* CNN: output channels of every conv; the input image and (unless asked) the dense head are left out. */
    PetscInt n_use = head ? n_w : n_conv;
    PetscCheck(n_use >= 2, comm, PETSC_ERR_USER_INPUT,
               "Model '%s' has only one Conv2D layer and no dense head in the graph, so the graph has no edges; set graph.include_dense_head = true",
               model->source);
    for (PetscInt w = 0; w < n_use; ++w) {
      const MCLayer *L = &model->layers[widx[w]];
      PetscCall(bn_scale(comm, model, widx[w], fold, s));
      if (w > 0) {
        PetscInt   prev = gsize[n_groups - 1];
        PetscReal *B;
        if (L->type == MC_LAYER_CONV2D) {
          PetscCheck(L->n_in == prev, comm, PETSC_ERR_USER_INPUT,
                     "Conv2D layer '%s' expects %" PetscInt_FMT " input channels but the previous conv has %" PetscInt_FMT, L->name, L->n_in, prev);
          PetscCall(conv_block(comm, L, norm, s, &B));
        } else if (w == n_conv) {
          /* First Dense after the convs: the flattened input is H*W positions times C channels,
             channels last, so row p*C + c belongs to channel c. */
          PetscInt  P = L->n_in / prev;
          PetscBool rss = (norm == MC_CONV_NORM_L2 || norm == MC_CONV_NORM_FRO) ? PETSC_TRUE : PETSC_FALSE;
          PetscCheck(L->n_in % prev == 0, comm, PETSC_ERR_USER_INPUT,
                     "Dense layer '%s' has %" PetscInt_FMT " inputs, not a multiple of the %" PetscInt_FMT " channels of the last conv", L->name, L->n_in,
                     prev);
          PetscCall(PetscCalloc1(prev * L->n_out, &B));
          for (PetscInt p = 0; p < P; ++p)
            for (PetscInt c = 0; c < prev; ++c) {
              const float *row = L->weight + (p * prev + c) * L->n_out;
              PetscReal   *Bc  = B + c * L->n_out;
              if (rss)
                for (PetscInt j = 0; j < L->n_out; ++j) Bc[j] += (PetscReal)row[j] * (PetscReal)row[j];
              else
                for (PetscInt j = 0; j < L->n_out; ++j) Bc[j] += PetscAbsReal((PetscReal)row[j]);
            }
          for (PetscInt c = 0; c < prev; ++c)
            for (PetscInt j = 0; j < L->n_out; ++j) B[c * L->n_out + j] = (rss ? PetscSqrtReal(B[c * L->n_out + j]) : B[c * L->n_out + j]) * s[j];
        } else {
          PetscCheck(L->n_in == prev, comm, PETSC_ERR_USER_INPUT,
                     "Dense layer '%s' expects %" PetscInt_FMT " inputs but the previous layer has %" PetscInt_FMT " units", L->name, L->n_in, prev);
          PetscCall(dense_block(L, s, &B));
        }
        blocks[n_groups - 1] = B;
      }
      gsize[n_groups]  = L->n_out;
      glayer[n_groups] = w + 1;
      n_groups++;
    }
  }
  PetscCall(mc_graph_from_blocks(comm, n_groups, gsize, glayer, blocks, out));
  PetscCall(PetscFree(s));
  PetscCall(PetscFree2(gsize, glayer));
  PetscCall(PetscFree(widx));
  PetscFunctionReturn(0);
}
