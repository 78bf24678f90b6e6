/* src/graph/walk.c: the channel walker (docs/method.md section 2): the node groups and edge blocks of the
   weight graph of any network, chain or DAG. From every weight layer whose inputs are graph nodes, walk
   forward through the layers that keep channels (BatchNorm folded in, activations, pooling, padding,
   Flatten, Add, Multiply gates; a depthwise convolution multiplied in as a channel map; Concatenate
   shifting the channels to the branch's place) until a weight layer or a network output is reached. */
#include <string.h>
#include "graph_impl.h"
#include "mc/sys.h"

/* One term of a channel map: channel `src` of the walking layer's output reaches channel `dst` of the
   current tensor with factor w (>= 0). */
typedef struct {
  PetscInt  src, dst;
  PetscReal w;
} Term;

typedef struct {
  PetscInt n;
  Term    *t; /* NULL: the walk does not reach this tensor */
} ChanMap;

/* The model seen by the walker. Sites: key 2 l is "the input channels of layer l", 2 l + 1 "the output
   channels of layer l" (a network output); groups are the sites with nodes, in key order. */
typedef struct {
  const MCModel *m;
  PetscInt       n;
  PetscInt      *ch;       /* channels of each layer's output as the walk counts them (a Flatten keeps its input's) */
  PetscInt      *producer; /* unit layer whose outputs these are (0 the input), -1 after a merge */
  PetscBool     *node;     /* a weight layer whose input channels are graph nodes (when not image-fed) */
  PetscBool     *fed;      /* every input comes from the model input without a weight layer between */
  PetscBool     *is_out;
  PetscBool      has_conv;
  PetscInt      *site_size; /* 2 n: nodes of each site, 0 if it is no group */
  PetscInt      *site_group;
} Walk;

static PetscInt in_of(const MCModel *m, PetscInt l, PetscInt k)
{
  return m->layers[l].n_inputs ? m->layers[l].inputs[k] : l - 1;
}

static PetscInt n_in_of(const MCModel *m, PetscInt l)
{
  return m->layers[l].n_inputs ? m->layers[l].n_inputs : 1;
}

static PetscBool is_weight(const MCLayer *L)
{
  return (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) ? PETSC_TRUE : PETSC_FALSE;
}

static PetscInt ch_of(const Walk *w, PetscInt i)
{
  return i < 0 ? w->m->input_shape[2] : w->ch[i];
}

/* Per-layer facts, in one forward and one backward sweep. */
static PetscErrorCode walk_setup(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *m, Walk *w)
{
  PetscInt   n = m->n_layers, units = 0;
  PetscBool *reaches_conv;

  PetscFunctionBeginUser;
  w->m = m;
  w->n = n;
  PetscCall(PetscMalloc5(n, &w->ch, n, &w->producer, n, &w->node, n, &w->fed, n, &w->is_out));
  PetscCall(PetscMalloc1(n, &reaches_conv));
  PetscCall(PetscCalloc2(2 * n, &w->site_size, 2 * n, &w->site_group));
  w->has_conv = PETSC_FALSE;
  for (PetscInt l = 0; l < n; ++l) {
    w->is_out[l] = PETSC_FALSE;
    if (m->layers[l].type == MC_LAYER_CONV2D) w->has_conv = PETSC_TRUE;
  }
  if (m->n_outputs)
    for (PetscInt o = 0; o < m->n_outputs; ++o) w->is_out[m->outputs[o]] = PETSC_TRUE;
  else if (n) w->is_out[n - 1] = PETSC_TRUE;
  /* A Dense layer is a graph layer in an MLP, in a CNN's head only on request, and wherever a convolution
     follows it (a squeeze-excite branch built from Dense layers). */
  for (PetscInt l = n - 1; l >= 0; --l) reaches_conv[l] = PETSC_FALSE;
  for (PetscInt l = n - 1; l >= 0; --l) {
    if (m->layers[l].type == MC_LAYER_CONV2D) reaches_conv[l] = PETSC_TRUE;
    if (!reaches_conv[l]) continue;
    for (PetscInt k = 0; k < n_in_of(m, l); ++k)
      if (in_of(m, l, k) >= 0) reaches_conv[in_of(m, l, k)] = PETSC_TRUE;
  }
  for (PetscInt l = 0; l < n; ++l) {
    const MCLayer *L = &m->layers[l];
    PetscInt       i0 = in_of(m, l, 0);

    w->fed[l] = PETSC_TRUE;
    for (PetscInt k = 0; k < n_in_of(m, l); ++k) {
      PetscInt i = in_of(m, l, k);
      if (i >= 0 && (!w->fed[i] || is_weight(&m->layers[i]))) w->fed[l] = PETSC_FALSE;
    }
    w->producer[l] = (n_in_of(m, l) == 1) ? (i0 < 0 ? 0 : w->producer[i0]) : -1;
    if (is_weight(L)) w->producer[l] = ++units;
    w->node[l] = PETSC_FALSE;
    if (L->type == MC_LAYER_CONV2D && !mc_model_is_depthwise(L)) w->node[l] = PETSC_TRUE;
    if (L->type == MC_LAYER_DENSE && (!w->has_conv || opts->include_dense_head || reaches_conv[l])) w->node[l] = PETSC_TRUE;
    if (is_weight(L)) {
      PetscCheck(L->weight && L->n_in > 0 && L->n_out > 0, comm, PETSC_ERR_USER_INPUT, "Layer '%s' of model '%s' has no weights", L->name, m->source);
      PetscCheck(L->type != MC_LAYER_CONV2D || (L->kh > 0 && L->kw > 0), comm, PETSC_ERR_USER_INPUT, "Conv2D layer '%s' has an empty kernel", L->name);
    }
    switch (L->type) {
    case MC_LAYER_DENSE:
    case MC_LAYER_CONV2D:
      w->ch[l] = L->n_out;
      break;
    case MC_LAYER_CONCAT:
      w->ch[l] = 0;
      for (PetscInt k = 0; k < n_in_of(m, l); ++k) w->ch[l] += ch_of(w, in_of(m, l, k));
      break;
    case MC_LAYER_RESHAPE: {
      /* Channels survive a Reshape that keeps the last axis, or one that flattens (1 x 1 x everything). */
      PetscInt c = ch_of(w, i0);
      const PetscInt *o = L->out_shape, *s = L->in_shape;
      PetscBool keeps = (o[2] == c || (o[0] == 1 && o[1] == 1 && o[2] == s[0] * s[1] * s[2])) ? PETSC_TRUE : PETSC_FALSE;
      w->ch[l] = keeps ? c : -1; /* -1: the walk stops here with an error if it ever gets here */
      break;
    }
    default:
      w->ch[l] = ch_of(w, i0);
    }
    for (PetscInt k = 1; k < n_in_of(m, l); ++k) /* Add, Multiply: the widest input (a gate may be 1 x 1 x C of the same C) */
      if (L->type != MC_LAYER_CONCAT) w->ch[l] = PetscMax(w->ch[l], ch_of(w, in_of(m, l, k)));
  }
  PetscCall(PetscFree(reaches_conv));
  PetscFunctionReturn(0);
}

static PetscErrorCode walk_destroy(Walk *w)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(w->ch, w->producer, w->node, w->fed, w->is_out));
  PetscCall(PetscFree2(w->site_size, w->site_group));
  PetscFunctionReturn(0);
}

/* Nodes in the input group of weight layer l: a Dense layer that reads the model input (an MLP's input
   features) has one per input; any other weight layer one per input channel (a Dense after a Flatten one
   per channel of the flattened map). 0: the layer's inputs are not graph nodes. */
static PetscInt input_group_size(const Walk *w, PetscInt l)
{
  const MCLayer *L = &w->m->layers[l];

  if (!w->node[l]) return 0;
  if (w->fed[l]) return w->has_conv ? 0 : L->n_in;
  return L->type == MC_LAYER_DENSE ? ch_of(w, in_of(w->m, l, 0)) : L->n_in;
}

/* The block of weight layer l (its input group's nodes x its output channels), every rank the same: conv
   kernel slice norms (grouped convolutions block-diagonal), or |W| of a Dense layer summed over the P
   positions of each channel (root-sum-square for l2/fro). Rows are split over the ranks and gathered. */
static PetscErrorCode layer_block(MPI_Comm comm, const MCGraphOpts *opts, const MCLayer *L, PetscInt rows, PetscReal **out)
{
  PetscInt   cout = L->n_out, lo, nloc = PETSC_DECIDE, n = rows;
  PetscReal *B, *work = NULL;
  PetscBool  rss = (opts->conv_norm == MC_CONV_NORM_L2 || opts->conv_norm == MC_CONV_NORM_FRO) ? PETSC_TRUE : PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscSplitOwnership(comm, &nloc, &n));
  PetscCall(mc_sys_ownership_start(comm, nloc, &lo));
  PetscCall(PetscCalloc1(rows * cout, &B));
  if (L->type == MC_LAYER_CONV2D) {
    PetscInt groups = L->groups > 1 ? L->groups : 1, cin_g = L->n_in / groups, cout_g = cout / groups, kh = L->kh, kw = L->kw;
    PetscCall(PetscMalloc1(PetscMax(kh, kw) * PetscMax(kh, kw), &work));
    for (PetscInt i = lo; i < lo + nloc; ++i) {
      PetscInt grp = i / cin_g, ig = i - grp * cin_g;
      for (PetscInt j = grp * cout_g; j < (grp + 1) * cout_g; ++j) {
        /* K[a][b][ig][j] sits at ((a * kw + b) * cin_g + ig) * cout + j. */
        const float *S = L->weight + ig * cout + j;
        B[i * cout + j] = mc_graph_conv_norm(opts->conv_norm, kh, kw, S, kw * cin_g * cout, cin_g * cout, work);
      }
    }
  } else {
    PetscInt P = L->n_in / rows;
    for (PetscInt c = lo; c < lo + nloc; ++c) {
      PetscReal *Bc = B + c * cout;
      for (PetscInt p = 0; p < P; ++p) {
        const float *row = L->weight + (p * rows + c) * cout;
        if (rss)
          for (PetscInt j = 0; j < cout; ++j) Bc[j] += (PetscReal)row[j] * (PetscReal)row[j];
        else
          for (PetscInt j = 0; j < cout; ++j) Bc[j] += PetscAbsReal((PetscReal)row[j]);
      }
      if (rss)
        for (PetscInt j = 0; j < cout; ++j) Bc[j] = PetscSqrtReal(Bc[j]);
    }
  }
  PetscCall(PetscFree(work));
  PetscCall(mc_sys_gatherv(comm, -1, MPI_IN_PLACE, nloc * cout, MPIU_REAL, B));
  *out = B;
  PetscFunctionReturn(0);
}

/* ---- channel maps ---- */

static PetscErrorCode map_identity(PetscInt n, ChanMap *M)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &M->t));
  M->n = n;
  for (PetscInt c = 0; c < n; ++c) M->t[c] = (Term){c, c, 1.0};
  PetscFunctionReturn(0);
}

static PetscErrorCode map_free(ChanMap *M)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(M->t));
  M->n = 0;
  PetscFunctionReturn(0);
}

static int term_cmp(const void *a, const void *b)
{
  const Term *x = (const Term *)a, *y = (const Term *)b;

  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
  return 0;
}

/* The sum of the maps of layer l's inputs (Concat: each shifted to its branch's channels); terms joining
   the same pair are merged, so maps never grow along a chain of merges. */
static PetscErrorCode map_merge(const Walk *w, PetscInt l, const ChanMap M[], ChanMap *out)
{
  const MCModel *m = w->m;
  PetscInt       n = 0, shift = 0, k = 0;

  PetscFunctionBeginUser;
  for (PetscInt q = 0; q < n_in_of(m, l); ++q) {
    PetscInt i = in_of(m, l, q);
    if (i >= 0 && M[i].t) n += M[i].n;
  }
  PetscCall(PetscMalloc1(PetscMax(n, 1), &out->t));
  for (PetscInt q = 0; q < n_in_of(m, l); ++q) {
    PetscInt i = in_of(m, l, q);
    if (i >= 0 && M[i].t)
      for (PetscInt e = 0; e < M[i].n; ++e) {
        out->t[k] = M[i].t[e];
        if (m->layers[l].type == MC_LAYER_CONCAT) out->t[k].dst += shift;
        k++;
      }
    if (m->layers[l].type == MC_LAYER_CONCAT) shift += ch_of(w, i);
  }
  if (n_in_of(m, l) > 1 && n > 1) {
    PetscInt r = 0;
    qsort(out->t, (size_t)n, sizeof(Term), term_cmp);
    for (PetscInt e = 1; e < n; ++e) {
      if (out->t[e].src == out->t[r].src && out->t[e].dst == out->t[r].dst) out->t[r].w += out->t[e].w;
      else out->t[++r] = out->t[e];
    }
    n = r + 1;
  }
  out->n = n;
  PetscFunctionReturn(0);
}

/* Through a BatchNorm: channel d scaled by |gamma_d / sqrt(var_d + eps)| (bn_negative = keep) or by its
   positive part (clip). */
static PetscErrorCode map_batchnorm(MPI_Comm comm, const MCGraphOpts *opts, const MCLayer *B, PetscInt ch, ChanMap *M)
{
  PetscFunctionBeginUser;
  if (!opts->fold_batchnorm) PetscFunctionReturn(0);
  PetscCheck(B->n_out == ch || B->n_out == 0, comm, PETSC_ERR_USER_INPUT, "BatchNormalization layer '%s' has %" PetscInt_FMT " channels but its input has %" PetscInt_FMT, B->name, B->n_out, ch);
  PetscCheck(B->moving_var, comm, PETSC_ERR_USER_INPUT, "BatchNormalization layer '%s' has no moving variance", B->name);
  for (PetscInt e = 0; e < M->n; ++e) {
    PetscInt  d   = M->t[e].dst;
    PetscReal gam = B->gamma ? (PetscReal)B->gamma[d] : 1.0;
    PetscReal den = PetscSqrtReal((PetscReal)B->moving_var[d] + (PetscReal)B->eps), s;
    PetscCheck(den > 0, comm, PETSC_ERR_USER_INPUT, "BatchNormalization layer '%s' channel %" PetscInt_FMT " has variance + eps <= 0", B->name, d);
    s = gam / den;
    M->t[e].w *= opts->bn_negative == MC_BN_NEGATIVE_CLIP ? PetscMax(s, 0) : PetscAbsReal(s);
  }
  PetscFunctionReturn(0);
}

/* Through a depthwise convolution with multiplier q: channel c feeds channels c q .. c q + q - 1, each
   with the norm of its kernel slice. */
static PetscErrorCode map_depthwise(const MCGraphOpts *opts, const MCLayer *D, ChanMap *M)
{
  PetscInt   q = D->n_out / D->n_in, kh = D->kh, kw = D->kw;
  Term      *t;
  PetscReal *work;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(M->n * q, 1), &t));
  PetscCall(PetscMalloc1(PetscMax(kh, kw) * PetscMax(kh, kw), &work));
  for (PetscInt e = 0; e < M->n; ++e)
    for (PetscInt r = 0; r < q; ++r) {
      PetscInt o = M->t[e].dst * q + r; /* K[a][b][0][o] at (a * kw + b) * n_out + o */
      t[e * q + r] = (Term){M->t[e].src, o, M->t[e].w * mc_graph_conv_norm(opts->conv_norm, kh, kw, D->weight + o, kw * D->n_out, D->n_out, work)};
    }
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(M->t));
  M->t = t;
  M->n *= q;
  PetscFunctionReturn(0);
}

/* ---- blocks ---- */

/* The blocks of one walking layer, by target site. */
typedef struct {
  PetscInt    n;
  PetscInt    site[256];
  PetscReal  *B[256];
} Targets;

static PetscErrorCode add_to_site(MPI_Comm comm, const Walk *w, const PetscReal K[], PetscInt rows, PetscInt cols_k, PetscInt site, const ChanMap *M,
                                  Targets *T)
{
  PetscInt   n_col = w->site_size[site], q;
  PetscReal *B;

  PetscFunctionBeginUser;
  for (q = 0; q < T->n && T->site[q] != site; ++q) {}
  if (q == T->n) {
    PetscCheck(T->n < 256, comm, PETSC_ERR_SUP, "A layer of model '%s' reaches more than 256 layers in the channel graph", w->m->source);
    PetscCall(PetscCalloc1(rows * n_col, &T->B[q]));
    T->site[q] = site;
    T->n++;
  }
  B = T->B[q];
  for (PetscInt e = 0; e < M->n; ++e) {
    const Term *t = &M->t[e];
    PetscCheck(t->dst >= 0 && t->dst < n_col && t->src < cols_k, comm, PETSC_ERR_PLIB, "channel walk out of range at site %" PetscInt_FMT, site);
    for (PetscInt r = 0; r < rows; ++r) B[r * n_col + t->dst] += K[r * cols_k + t->src] * t->w;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__graph_walk(MPI_Comm comm, const MCGraphOpts *opts, const MCModel *m, MCGraphParts *out)
{
  Walk      w;
  ChanMap  *M;
  PetscInt  n = m->n_layers, n_groups = 0, n_blocks = 0, cap = 16, n_conv = 0;
  PetscInt *pair;
  PetscReal **blocks;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(out, sizeof(*out)));
  PetscCall(walk_setup(comm, opts, m, &w));
  for (PetscInt l = 0; l < n; ++l) n_conv += m->layers[l].type == MC_LAYER_CONV2D;
  /* Sites with nodes: every walking layer's input group, then the targets the walks reach (found below). */
  for (PetscInt l = 0; l < n; ++l) w.site_size[2 * l] = input_group_size(&w, l);
  PetscCall(PetscCalloc1(n, &M));
  PetscCall(PetscMalloc1(2 * cap, &pair));
  PetscCall(PetscMalloc1(cap, &blocks));
  /* One walk per weight layer with an input group; the targets it reaches (the next weight layers' inputs,
     stopping Dense layers, network outputs) become sites as they are found. Blocks are recorded by site
     and renumbered by group once every site is known. */
  for (PetscInt x = 0; x < n; ++x) {
    PetscInt   rows = input_group_size(&w, x);
    PetscReal *K    = NULL;
    Targets    T;

    if (!rows) continue;
    T.n = 0;
    PetscCall(layer_block(comm, opts, &m->layers[x], rows, &K));
    PetscCall(map_identity(m->layers[x].n_out, &M[x]));
    for (PetscInt l = x; l < n; ++l) {
      const MCLayer *L = &m->layers[l];
      PetscInt       site = -1;
      if (l > x) {
        PetscBool reached = PETSC_FALSE;
        for (PetscInt q = 0; q < n_in_of(m, l); ++q)
          if (in_of(m, l, q) >= 0 && M[in_of(m, l, q)].t) reached = PETSC_TRUE;
        if (!reached) continue;
        if (w.node[l] || L->type == MC_LAYER_DENSE) site = 2 * l; /* the walk ends at the next weight layer's input */
        PetscCheck(site >= 0 || L->type != MC_LAYER_RESHAPE || w.ch[l] >= 0, comm, PETSC_ERR_SUP,
                   "The channel graph of '%s' cannot follow Reshape layer '%s': it changes the channel count from %" PetscInt_FMT " to %" PetscInt_FMT, m->source,
                   L->name, ch_of(&w, in_of(m, l, 0)), L->out_shape[2]);
        PetscCall(map_merge(&w, l, M, &M[l]));
        if (site < 0 && L->type == MC_LAYER_BATCHNORM) PetscCall(map_batchnorm(comm, opts, L, w.ch[l], &M[l]));
        if (site < 0 && mc_model_is_depthwise(L)) PetscCall(map_depthwise(opts, L, &M[l]));
        if (site >= 0 && !w.site_size[site]) w.site_size[site] = ch_of(&w, in_of(m, l, 0));
      }
      if (site < 0 && w.is_out[l]) {
        site                = 2 * l + 1;
        w.site_size[site] = w.ch[l];
      }
      if (site >= 0) PetscCall(add_to_site(comm, &w, K, rows, m->layers[x].n_out, site, &M[l], &T));
      if (site == 2 * l) PetscCall(map_free(&M[l])); /* no further */
    }
    for (PetscInt l = x; l < n; ++l) PetscCall(map_free(&M[l]));
    PetscCall(PetscFree(K));
    /* The targets in site order, as blocks (site of x, site of target). */
    for (PetscInt a = 0; a < T.n; ++a)
      for (PetscInt b = a + 1; b < T.n; ++b)
        if (T.site[b] < T.site[a]) {
          PetscInt   s  = T.site[a];
          PetscReal *Bp = T.B[a];
          T.site[a] = T.site[b], T.B[a] = T.B[b];
          T.site[b] = s, T.B[b] = Bp;
        }
    for (PetscInt q = 0; q < T.n; ++q) {
      if (n_blocks == cap) {
        cap *= 2;
        PetscCall(PetscRealloc(2 * cap * sizeof(*pair), &pair));
        PetscCall(PetscRealloc(cap * sizeof(*blocks), &blocks));
      }
      pair[2 * n_blocks]     = 2 * x;
      pair[2 * n_blocks + 1] = T.site[q];
      blocks[n_blocks++]     = T.B[q];
    }
  }
  /* Groups in site order; sites are numbered increasingly, so every pair stays in ascending order. */
  for (PetscInt s = 0; s < 2 * n; ++s)
    if (w.site_size[s]) w.site_group[s] = n_groups++;
  for (PetscInt e = 0; e < 2 * n_blocks; ++e) pair[e] = w.site_group[pair[e]];
  PetscCall(PetscFree(M));
  /* A graph without edges cannot be clustered: say why. */
  if (!n_blocks) {
    PetscCall(PetscFree(pair));
    PetscCall(PetscFree(blocks));
    PetscCall(walk_destroy(&w));
    PetscCheck(!(n_conv == 1 && !opts->include_dense_head), comm, PETSC_ERR_USER_INPUT,
               "Model '%s' has only one Conv2D layer and no dense head in the graph, so the graph has no edges; set graph.include_dense_head = true", m->source);
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "The weight graph of model '%s' has no edges (no weight layer feeds another one or an output)", m->source);
  }
  out->n_groups = n_groups;
  out->n_blocks = n_blocks;
  out->pair     = pair;
  out->block    = blocks;
  PetscCall(PetscMalloc4(n_groups, &out->size, n_groups, &out->layer, n_groups, &out->site, n_groups, &out->role));
  for (PetscInt s = 0; s < 2 * n; ++s) {
    PetscInt g = w.site_group[s], l = s / 2;
    if (!w.site_size[s]) continue;
    out->size[g]   = w.site_size[s];
    out->site[g]   = l;
    out->role[g]   = (s % 2) ? MC_GROUP_OUTPUT : w.node[l] ? MC_GROUP_SOURCE : MC_GROUP_STOP;
    /* Unit layer: the producer of the layer's input, or of its output for a network output. */
    out->layer[g] = (s % 2) ? w.producer[l] : (in_of(m, l, 0) < 0 ? 0 : w.producer[in_of(m, l, 0)]);
  }
  PetscCall(walk_destroy(&w));
  PetscFunctionReturn(0);
}
