/* src/graph/activations.c: the activation graph (docs/method.md section 3): pre-activations of the units on
   drawn training examples, farmed over the ranks by example; their squared correlations from one Gram
   product on a ScaLAPACK grid (src/dense), kept as a dense matrix in row blocks (Kendall: kendall.c; the
   sparse act_knn graph: knn.c). */
#include <math.h>
#include "mc/graph.h"
#include "mc/forward.h"
#include "mc/sys.h"
#include "graph_impl.h"

/* Examples per forward batch. The BLAS gives a row of a product bits that depend on its place in the
   batch, so every rank's share of the samples starts at a multiple of the batch: each sample then sits at
   the same place of the same batch at any rank count, and the activations are identical. */
#define MC_ACT_BATCH 128

/* One unit layer of the graph: unit layer u of the engine, its values per example (width) and, for a
   channel map, its spatial size. */
typedef struct {
  PetscInt u, layer, n_units, width, h, w;
} Group;

/* The unit layers that become node groups, as in the weight graph: the hidden ones (of a CNN its
   convolutions, and the hidden Dense layers after them only with include_dense_head), and with include_io
   the input and the logits. */
static PetscErrorCode pick_groups(const MCModel *model, MCForward *f, const MCGraphOpts *opts, PetscInt *n, Group gr[])
{
  PetscInt  U = mc_forward_n_unit_layers(f);
  PetscBool seen_conv = PETSC_FALSE;

  PetscFunctionBeginUser;
  *n = 0;
  for (PetscInt u = opts->act_include_io ? 0 : 1; u < (opts->act_include_io ? U : U - 1); ++u) {
    Group *g = &gr[*n];
    g->u = u;
    PetscCall(mc_forward_unit_layer(f, u, &g->layer, &g->n_units, &g->width));
    if (g->layer >= 0 && model->layers[g->layer].type == MC_LAYER_CONV2D) seen_conv = PETSC_TRUE;
    else if (g->layer >= 0 && seen_conv && u < U - 1 && !opts->include_dense_head) continue;
    (*n)++;
    g->h = g->width / g->n_units;
    g->w = 1;
    if (g->h > 1) { /* a channel map: H x W from the shape of the layer's output (or the input) */
      const PetscInt *shape = g->layer < 0 ? model->input_shape : model->layers[g->layer].out_shape;
      g->h = shape[0];
      g->w = shape[1];
    }
  }
  PetscFunctionReturn(0);
}

/* sample[0..S): S distinct indices of [0, n), a partial Fisher-Yates shuffle from one stream. */
static PetscErrorCode draw_samples(uint64_t seed, PetscInt n, PetscInt S, PetscInt sample[])
{
  PetscInt *idx;
  MCRng     r;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &idx));
  for (PetscInt i = 0; i < n; ++i) idx[i] = i;
  mc_rng_init(&r, seed, MC_STREAM_ACTIVATIONS, 0);
  for (PetscInt i = 0; i < S; ++i) {
    PetscInt j = i + (PetscInt)mc_rng_below(&r, (uint64_t)(n - i)), t = idx[i];
    idx[i]    = idx[j];
    idx[j]    = t;
    sample[i] = idx[i];
  }
  PetscCall(PetscFree(idx));
  PetscFunctionReturn(0);
}

/* One number per example for a channel map (h x w, channels-last with c_stride between positions). */
static PetscReal reduce_map(MCSpatialNorm norm, PetscInt h, PetscInt w, const float *x, PetscInt c_stride, PetscReal work[])
{
  if (norm == MC_SPATIAL_MEAN) {
    PetscReal s = 0;
    for (PetscInt p = 0; p < h * w; ++p) s += x[p * c_stride];
    return s / (PetscReal)(h * w);
  }
  return mc_graph_conv_norm((MCConvNorm)norm, h, w, x, w * c_stride, c_stride, work);
}

/* This rank's examples through the network f (batches of MC_ACT_BATCH): act (count x N, row-major) gets every node's value. */
static PetscErrorCode forward_share(const MCGraphOpts *opts, MCForward *f, const MCDataset *train, const PetscInt sample[], PetscInt count, PetscInt n_groups,
                                    const Group gr[], PetscInt N, PetscReal act[])
{
  const PetscInt batch = MC_ACT_BATCH, in = train->shape[0] * train->shape[1] * train->shape[2];
  float         *x;
  PetscReal     *work;
  PetscInt       hw = 1;

  PetscFunctionBeginUser;
  for (PetscInt g = 0; g < n_groups; ++g) hw = PetscMax(hw, PetscMax(gr[g].h, gr[g].w));
  PetscCall(PetscMalloc2(batch * in, &x, hw * hw, &work));
  for (PetscInt b0 = 0; b0 < count; b0 += batch) {
    PetscInt nb = PetscMin(batch, count - b0);

    for (PetscInt e = 0; e < nb; ++e) PetscCall(PetscArraycpy(x + e * in, train->x + (size_t)sample[b0 + e] * in, in));
    PetscCall(mc_forward_run(f, nb, x, 0));
    for (PetscInt g = 0, off = 0; g < n_groups; off += gr[g].n_units, ++g) {
      const float *z;
      PetscInt     width;

      if (gr[g].layer < 0) {
        z     = x;
        width = in;
      } else PetscCall(mc_forward_preact(f, gr[g].layer, &z, &width));
      for (PetscInt e = 0; e < nb; ++e) {
        const float *ze  = z + e * width;
        PetscReal   *row = act + (size_t)(b0 + e) * N + off;
        if (gr[g].h * gr[g].w == 1)
          for (PetscInt j = 0; j < gr[g].n_units; ++j) row[j] = ze[j];
        else
          for (PetscInt c = 0; c < gr[g].n_units; ++c) row[c] = reduce_map(opts->act_norm, gr[g].h, gr[g].w, ze + c, gr[g].n_units, work);
      }
    }
  }
  PetscCall(PetscFree2(x, work));
  PetscFunctionReturn(0);
}

/* Standardise one unit's S values y[] in place: ranks first for Spearman (ties averaged), then centred and
   scaled to unit length, so Y Y^T holds the correlations; Kendall gets dense integer ranks 0, 1, ... (ties
   share one) for kendall_rows. A unit whose values are all equal is dead: set to zero, *dead = true. v and
   idx are S scratch entries. */
static PetscErrorCode standardise(MCCorr corr, PetscInt S, PetscReal y[], PetscReal v[], PetscInt idx[], PetscBool *dead)
{
  PetscReal lo = PETSC_MAX_REAL, hi = PETSC_MIN_REAL, mean = 0, ss = 0;

  PetscFunctionBeginUser;
  for (PetscInt t = 0; t < S; ++t) {
    lo = PetscMin(lo, y[t]);
    hi = PetscMax(hi, y[t]);
  }
  *dead = !(lo < hi) ? PETSC_TRUE : PETSC_FALSE; /* all equal (or NaN) */
  if (*dead) {
    for (PetscInt t = 0; t < S; ++t) y[t] = 0;
    PetscFunctionReturn(0);
  }
  if (corr != MC_CORR_PEARSON) {
    for (PetscInt t = 0; t < S; ++t) {
      v[t]   = y[t];
      idx[t] = t;
    }
    PetscCall(PetscSortRealWithArrayInt(S, v, idx)); /* v ascending, idx where each came from */
    for (PetscInt a = 0, r = 0; a < S; ++r) {
      PetscInt b = a + 1;
      while (b < S && v[b] == v[a]) ++b;
      /* Spearman: the average of the 1-based ranks a+1 .. b; Kendall: the tie group's number */
      for (PetscInt t = a; t < b; ++t) y[idx[t]] = corr == MC_CORR_KENDALL ? (PetscReal)r : 0.5 * (PetscReal)(a + b + 1);
      a = b;
    }
    if (corr == MC_CORR_KENDALL) PetscFunctionReturn(0);
  }
  for (PetscInt t = 0; t < S; ++t) mean += y[t];
  mean /= (PetscReal)S;
  for (PetscInt t = 0; t < S; ++t) {
    y[t] -= mean;
    ss += y[t] * y[t];
  }
  ss = PetscSqrtReal(ss);
  for (PetscInt t = 0; t < S; ++t) y[t] /= ss;
  PetscFunctionReturn(0);
}

/* B (cols x rows, column-major) = A^T for A (rows x cols, column-major, lda), in cache-sized tiles. */
static void transpose(PetscInt rows, PetscInt cols, const PetscReal A[], PetscInt lda, PetscReal B[], PetscInt ldb)
{
  const PetscInt T = 32;

  for (PetscInt j0 = 0; j0 < cols; j0 += T)
    for (PetscInt i0 = 0; i0 < rows; i0 += T)
      for (PetscInt j = j0; j < PetscMin(cols, j0 + T); ++j)
        for (PetscInt i = i0; i < PetscMin(rows, i0 + T); ++i) B[i * ldb + j] = A[j * lda + i];
}

/* Bytes one rank needs at the peak: while the samples move to rows (its samples' values and its units'
   rows), while they are standardised (its units' rows twice), or during the Gram product (its rows of the
   graph, its units' rows twice, two panels); plus its samples' values when they are kept for the output. */
static double bytes_per_rank(PetscInt N, PetscInt S, PetscMPIInt size, PetscBool keep, PetscInt knn, const MCDenseOpts *dense)
{
  PetscInt s0, share, r0, rows;
  double   w = (double)mc_dense_panel_width(N, dense), move, gram;

  mc_dense_split(S, size, 0, MC_ACT_BATCH, &s0, &share);
  mc_dense_split(N, size, 0, 1, &r0, &rows);
  move = (double)share * N + (double)rows * S;
  if (knn > 0) /* its units' rows on the grid, two panels, the edge lists (about 6 copies of 2 words) */
    gram = PetscMax(2.0 * rows * S, (double)rows * S + 2.0 * N * w / size + 12.0 * rows * knn);
  else gram = PetscMax(2.0 * rows * S, (double)rows * N + rows * S + 2.0 * N * w / size);
  return 8.0 * PetscMax(move, gram + (keep ? (double)share * N : 0.0));
}

PetscErrorCode mc_graph_build_activations(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *model, const MCDataset *train, MCGraph **out)
{
  PetscMPIInt  size, rank;
  MCForward   *f;
  Group       *gr;
  MCGraph     *g;
  PetscInt     n_groups, N = 0, S = opts->act_samples, r0, nr, lda, *dead_in, *perm, worst = -1;
  PetscReal   *Y, *Yt, *G, *v;
  double       avail, need;
  MCDenseStats st = {0};
  MCDenseOpts  dense;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCheck(mc_model_input_fits(model, train->shape), comm, PETSC_ERR_USER_INPUT,
             "the examples of %s are %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " (H x W x C) but model %s takes %" PetscInt_FMT " x %" PetscInt_FMT
             " x %" PetscInt_FMT,
             train->source, train->shape[0], train->shape[1], train->shape[2], model->source, model->input_shape[0], model->input_shape[1],
             model->input_shape[2]);
  PetscCheck(S >= 3 && S <= train->n, comm, PETSC_ERR_USER_INPUT, "[graph] act_samples = %" PetscInt_FMT " but the training set of %s has %" PetscInt_FMT " examples; choose 3 to %" PetscInt_FMT, S,
             train->source, train->n, train->n);

  PetscCheck(opts->act_knn == 0 || opts->act_corr != MC_CORR_KENDALL, comm, PETSC_ERR_USER_INPUT,
             "[graph] act_knn = %" PetscInt_FMT " works with act_corr = spearman or pearson (one streamed matrix product), not with kendall", opts->act_knn);
  PetscCall(PetscNew(&g));
  PetscCall(mc_forward_create(model, MC_ACT_BATCH, &f));
  PetscCall(PetscMalloc1(mc_forward_n_unit_layers(f), &gr));
  PetscCall(pick_groups(model, f, opts, &n_groups, gr));
  PetscCheck(n_groups >= 1, comm, PETSC_ERR_USER_INPUT, "model %s has no hidden Dense or Conv2D layer, so its activation graph is empty (set [graph] act_include_io = true to use the input and the logits)",
             model->source);
  g->n_groups = n_groups;
  PetscCall(PetscMalloc2(n_groups + 1, &g->group_offset, n_groups, &g->group_layer));
  g->group_offset[0] = 0;
  for (PetscInt i = 0; i < n_groups; ++i) {
    g->group_offset[i + 1] = g->group_offset[i] + gr[i].n_units;
    g->group_layer[i]      = gr[i].u;
  }
  N = g->n_nodes = g->group_offset[n_groups];
  g->n_samples   = S;

  /* The sparse graph streams panels of 256 columns (unless given): the dense graph is never held. */
  dense = opts->dense;
  if (opts->act_knn > 0 && dense.panel <= 0) dense.panel = 256;
  /* Refuse a graph this machine cannot hold before allocating it. */
  PetscCall(mc_sys_memory_per_rank(comm, &avail));
  need = bytes_per_rank(N, S, size, opts->keep_activations, opts->act_knn, &dense);
  if (need > avail) {
    PetscMPIInt r = size;
    while (bytes_per_rank(N, S, r, opts->keep_activations, opts->act_knn, &dense) > avail && r < PetscMax(N, S)) r = (PetscMPIInt)PetscMin(2 * (PetscInt)r, PetscMax(N, S));
    PetscCheck(bytes_per_rank(N, S, r, opts->keep_activations, opts->act_knn, &dense) <= avail, comm, PETSC_ERR_MEM,
               "the activation graph of %" PetscInt_FMT " units on %" PetscInt_FMT " samples needs about %.1f MiB per rank at %d ranks, and %.1f MiB per rank is available; more ranks do not bring it below that: lower [graph] act_samples",
               N, S, need / 1048576.0, (int)size, avail / 1048576.0);
    SETERRQ(comm, PETSC_ERR_MEM,
            "the activation graph of %" PetscInt_FMT " units on %" PetscInt_FMT " samples needs about %.1f MiB per rank at %d ranks, and %.1f MiB per rank is available: run on at least %d ranks (with the same memory per rank), set [graph] act_knn to keep only the strongest edges, or lower act_samples",
            N, S, need / 1048576.0, (int)size, avail / 1048576.0, (int)r);
  }

  /* Examples: drawn once, farmed by rank; act is Y (N x S) by columns: this rank's samples, every unit. */
  PetscCall(PetscMalloc1(S, &g->sample));
  PetscCall(draw_samples(opts->seed, train->n, S, g->sample));
  mc_dense_split(S, size, rank, MC_ACT_BATCH, &g->sample_start, &g->sample_count);
  PetscCall(PetscMalloc1(PetscMax(g->sample_count * N, 1), &g->activation));
  PetscCall(forward_share(opts, f, train, g->sample + g->sample_start, g->sample_count, n_groups, gr, N, g->activation));
  PetscCall(mc_forward_destroy(&f));

  /* By units: rank, centre and scale each unit's S values. */
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_CORR_GRAM], 0, 0, 0, 0));
  mc_dense_split(N, size, rank, 1, &r0, &nr);
  lda = PetscMax(1, nr);
  PetscCall(PetscMalloc1(lda * S, &Y));
  PetscCall(mc_dense_cols_to_rows(comm, N, S, MC_ACT_BATCH, g->activation, Y));
  if (!opts->keep_activations) PetscCall(PetscFree(g->activation));
  /* Each unit's values made contiguous (Y's rows are strided by lda), standardised, put back. */
  PetscCall(PetscCalloc1(n_groups, &dead_in));
  PetscCall(PetscMalloc3(S, &v, S, &perm, PetscMax(nr * S, 1), &Yt));
  transpose(nr, S, Y, lda, Yt, S);
  for (PetscInt i = 0; i < nr; ++i) {
    PetscBool dead;
    PetscCall(standardise(opts->act_corr, S, Yt + i * S, v, perm, &dead));
    if (dead) {
      PetscInt layer;
      mc_graph_node_info(g, r0 + i, &layer, NULL);
      for (PetscInt k = 0; k < n_groups; ++k)
        if (gr[k].u == layer) dead_in[k]++;
    }
  }
  transpose(S, nr, Yt, S, Y, lda);
  PetscCall(PetscFree3(v, perm, Yt));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dead_in, (PetscMPIInt)n_groups, MPIU_INT, MPI_SUM, comm));
  for (PetscInt k = 0; k < n_groups; ++k) {
    g->n_dead += dead_in[k];
    if (dead_in[k] == gr[k].n_units && worst < 0) worst = k;
  }
  PetscCall(PetscFree(dead_in));
  if (worst >= 0) {
    const char *name = mc_model_unit_layer_name(model, gr[worst].u);
    PetscCall(PetscFree(Y));
    PetscCall(PetscFree(gr));
    PetscCall(mc_graph_destroy(&g));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "every unit of layer '%s' of model %s has the same pre-activation on all %" PetscInt_FMT " samples (all dead), so it has no activation edges; check the model's weights or the dataset", name, model->source, S);
  }

  if (opts->act_knn > 0) PetscCall(mc__graph_knn_adjacency(comm, &dense, N, S, opts->act_knn, &Y, &g->adj, &st));
  else {
    /* The correlations, straight into the local rows of the dense adjacency, then squared. */
    PetscCall(MatCreateDense(comm, nr, nr, N, N, NULL, &g->adj));
    PetscCall(MatDenseGetArrayWrite(g->adj, &G));
    {
      PetscInt ld;
      PetscCall(MatDenseGetLDA(g->adj, &ld));
      PetscCheck(nr == 0 || ld == lda, PETSC_COMM_SELF, PETSC_ERR_PLIB, "dense adjacency has leading dimension %" PetscInt_FMT ", expected %" PetscInt_FMT, ld, lda);
    }
    if (opts->act_corr == MC_CORR_KENDALL) PetscCall(mc__graph_kendall_rows(comm, N, S, r0, nr, Y, lda, G));
    else PetscCall(mc_dense_gram(comm, &dense, N, S, &Y, G, &st));
    for (PetscInt j = 0; j < N; ++j)
      for (PetscInt i = 0; i < nr; ++i) {
        PetscReal r = G[j * lda + i], a = r * r;
        G[j * lda + i] = (j == r0 + i || PetscIsNanReal(a)) ? 0 : PetscMin(a, 1.0);
      }
    PetscCall(MatDenseRestoreArrayWrite(g->adj, &G));
    PetscCall(MatAssemblyBegin(g->adj, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(g->adj, MAT_FINAL_ASSEMBLY));
  }
  PetscCall(PetscFree(Y));
  PetscCall(MatSetOption(g->adj, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(g->adj, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_CORR_GRAM], 0, 0, 0, 0));
  if (opts->act_corr == MC_CORR_KENDALL) PetscCall(PetscInfo(NULL, "activation graph: %" PetscInt_FMT " units (%" PetscInt_FMT " dead) on %" PetscInt_FMT " samples, Kendall pair by pair\n", N, g->n_dead, S));
  else
    PetscCall(PetscInfo(NULL, "activation graph: %" PetscInt_FMT " units (%" PetscInt_FMT " dead) on %" PetscInt_FMT " samples; Gram on a %" PetscInt_FMT " x %" PetscInt_FMT " grid, block %" PetscInt_FMT ", %" PetscInt_FMT " panels of %" PetscInt_FMT ": %.2f s, %.2f GFLOP/s on this rank\n",
                        N, g->n_dead, S, st.grid_rows, st.grid_cols, st.block, st.n_panels, st.panel, st.seconds, st.seconds > 0 ? st.flops / st.seconds * 1e-9 : 0.0));
  PetscCall(PetscFree(gr));
  *out = g;
  PetscFunctionReturn(0);
}
