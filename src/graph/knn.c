/* src/graph/knn.c: the sparse activation graph ([graph] act_knn): the correlations streamed panel by panel
   (src/dense), each unit keeping its k strongest edges, then the union with the transposed lists, so the
   dense graph is never held. */
#include "mc/graph.h"
#include "mc/sys.h"
#include "graph_impl.h"

/* Each own row's k strongest edges so far, unsorted, with the position of the weakest. */
typedef struct {
  PetscInt   k, r0, nr;
  PetscReal *val;  /* nr x k */
  PetscInt  *col;  /* nr x k */
  PetscInt  *n;    /* entries held per row */
  PetscInt  *weak; /* position of the weakest entry per row (once full) */
} TopK;

/* a beats b: stronger, or as strong with the smaller column (so the choice never depends on the order). */
static PetscBool beats(PetscReal va, PetscInt ca, PetscReal vb, PetscInt cb)
{
  return (va > vb || (va == vb && ca < cb)) ? PETSC_TRUE : PETSC_FALSE;
}

static PetscErrorCode topk_panel(void *ctx, PetscInt c0, PetscInt wc, const PetscReal buf[], PetscInt lda)
{
  TopK *t = (TopK *)ctx;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < t->nr; ++i) {
    PetscReal *v = t->val + i * t->k;
    PetscInt  *c = t->col + i * t->k;

    for (PetscInt q = 0; q < wc; ++q) {
      PetscInt  j = c0 + q;
      PetscReal r = buf[q * lda + i], a = r * r;

      if (j == t->r0 + i || !(a > 0)) continue; /* the diagonal, NaN and zero give no edge */
      a = PetscMin(a, 1.0);
      if (t->n[i] < t->k) {
        v[t->n[i]] = a;
        c[t->n[i]] = j;
        t->n[i]++;
      } else if (beats(a, j, v[t->weak[i]], c[t->weak[i]])) {
        v[t->weak[i]] = a;
        c[t->weak[i]] = j;
      } else continue;
      if (t->n[i] == t->k) { /* find the weakest again */
        PetscInt w = 0;
        for (PetscInt e = 1; e < t->k; ++e)
          if (beats(v[w], c[w], v[e], c[e])) w = e;
        t->weak[i] = w;
      }
    }
  }
  PetscFunctionReturn(0);
}

/* (row, col, value) triples; sorted by row, then column. */
typedef struct {
  PetscInt  row, col;
  PetscReal val;
} Entry;

static int entry_cmp(const void *a, const void *b)
{
  const Entry *x = (const Entry *)a, *y = (const Entry *)b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return x->col < y->col ? -1 : (x->col > y->col ? 1 : 0);
}

PetscErrorCode mc__graph_knn_adjacency(MPI_Comm comm, const MCDenseOpts *dense, PetscInt N, PetscInt S, PetscInt k, PetscReal **Y, Mat *adj, MCDenseStats *st)
{
  PetscMPIInt  size, rank, *scount, *sdisp, *rcount, *rdisp;
  TopK         t = {0};
  Entry       *own, *sent, *recv, *all;
  PetscInt     n_own = 0, n_recv = 0, b, *dnz, *onz, n_all = 0;
  MPI_Datatype etype;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  mc_dense_split(N, size, rank, 1, &t.r0, &t.nr);
  t.k = PetscMin(k, N - 1);
  PetscCall(PetscMalloc4(PetscMax(t.nr * t.k, 1), &t.val, PetscMax(t.nr * t.k, 1), &t.col, PetscMax(t.nr, 1), &t.n, PetscMax(t.nr, 1), &t.weak));
  for (PetscInt i = 0; i < t.nr; ++i) t.n[i] = t.weak[i] = 0;
  PetscCall(mc_dense_gram_stream(comm, dense, N, S, Y, topk_panel, &t, st));

  /* Every kept edge (i, j) goes to the owner of row j as (j, i): the union of the lists is symmetric. */
  b = PetscMax(1, (N + size - 1) / size); /* mc_dense_split's block: row j lives on rank j / b */
  for (PetscInt i = 0; i < t.nr; ++i) n_own += t.n[i];
  PetscCall(PetscMalloc2(PetscMax(n_own, 1), &own, PetscMax(n_own, 1), &sent));
  PetscCall(PetscCalloc4(size, &scount, size, &sdisp, size, &rcount, size, &rdisp));
  for (PetscInt i = 0, e = 0; i < t.nr; ++i)
    for (PetscInt q = 0; q < t.n[i]; ++q, ++e) {
      own[e].row = t.r0 + i;
      own[e].col = t.col[i * t.k + q];
      own[e].val = t.val[i * t.k + q];
      scount[own[e].col / b]++;
    }
  PetscCall(PetscFree4(t.val, t.col, t.n, t.weak));
  for (PetscMPIInt r = 1; r < size; ++r) sdisp[r] = sdisp[r - 1] + scount[r - 1];
  {
    PetscMPIInt *fill;
    PetscCall(PetscCalloc1(size, &fill));
    for (PetscInt e = 0; e < n_own; ++e) {
      PetscMPIInt r = (PetscMPIInt)(own[e].col / b);
      sent[sdisp[r] + fill[r]++] = (Entry){own[e].col, own[e].row, own[e].val};
    }
    PetscCall(PetscFree(fill));
  }
  PetscCallMPI(MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm));
  for (PetscMPIInt r = 0; r < size; ++r) {
    if (r > 0) rdisp[r] = rdisp[r - 1] + rcount[r - 1];
    n_recv += rcount[r];
  }
  PetscCall(PetscMalloc2(PetscMax(n_recv, 1), &recv, PetscMax(n_own + n_recv, 1), &all));
  PetscCallMPI(MPI_Type_contiguous((PetscMPIInt)sizeof(Entry), MPI_BYTE, &etype));
  PetscCallMPI(MPI_Type_commit(&etype));
  PetscCallMPI(MPI_Alltoallv(sent, scount, sdisp, etype, recv, rcount, rdisp, etype, comm));
  PetscCallMPI(MPI_Type_free(&etype));

  /* Union per row. An edge both rows kept has two values, computed on rows i and j (the products may
     differ in the last bit): both rows take the one of the smaller row index, so the matrix is exactly
     symmetric. */
  qsort(own, (size_t)n_own, sizeof(Entry), entry_cmp);
  qsort(recv, (size_t)n_recv, sizeof(Entry), entry_cmp);
  for (PetscInt a = 0, c = 0; a < n_own || c < n_recv;) {
    int cmp = a == n_own ? 1 : (c == n_recv ? -1 : entry_cmp(&own[a], &recv[c]));
    if (cmp < 0) all[n_all++] = own[a++];
    else if (cmp > 0) all[n_all++] = recv[c++];
    else {
      all[n_all] = own[a].row < own[a].col ? own[a] : recv[c];
      all[n_all].row = own[a].row;
      all[n_all].col = own[a].col;
      n_all++, a++, c++;
    }
  }
  PetscCall(PetscFree2(own, sent));

  /* The sparse adjacency, exactly preallocated, each rank its rows. */
  PetscCall(PetscCalloc2(PetscMax(t.nr, 1), &dnz, PetscMax(t.nr, 1), &onz));
  for (PetscInt e = 0; e < n_all; ++e) {
    PetscInt i = all[e].row - t.r0, j = all[e].col;
    if (j >= t.r0 && j < t.r0 + t.nr) dnz[i]++;
    else onz[i]++;
  }
  PetscCall(MatCreateAIJ(comm, t.nr, t.nr, N, N, 0, dnz, 0, onz, adj));
  for (PetscInt e = 0; e < n_all; ++e) PetscCall(MatSetValue(*adj, all[e].row, all[e].col, all[e].val, INSERT_VALUES));
  PetscCall(MatAssemblyBegin(*adj, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*adj, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree2(dnz, onz));
  PetscCall(PetscFree2(recv, all));
  PetscCall(PetscFree4(scount, sdisp, rcount, rdisp));
  PetscFunctionReturn(0);
}
