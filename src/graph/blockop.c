/* src/graph/blockop.c: y = A x straight from the dense blocks every rank holds, for graphs whose blocks do
   not join consecutive groups only (branched networks' weight graphs; chains use the bipartite solver).
   Each stored edge is read once per product (the CSR matrix stores both triangles, with column indices):
   a third of the memory traffic. The rows of all blocks are dealt to the ranks in contiguous runs of equal
   entry counts; each rank forms its blocks' contributions to every node (B x for the block's rows, B^T x
   for its columns, both from one pass over a panel that stays in cache) and a reduce-scatter sums them into
   the owners' rows. */
#include "graph_impl.h"
#include "mc/sys.h"
#include <petscblaslapack.h>

typedef struct {
  const MCGraph *g;        /* borrowed: the blocks, pairs and offsets (the graph owns the matrix this is composed on) */
  PetscInt       n_chunk;  /* this rank's runs: block chunk[3c], rows [chunk[3c+1], chunk[3c+2]) */
  PetscInt      *chunk;
  Vec            xall;     /* x on every rank */
  VecScatter     to_all;
  PetscReal     *yall;     /* N: this rank's contributions */
  PetscMPIInt   *counts;   /* rows owned by each rank */
} BlockOp;

static PetscErrorCode blockop_mult(Mat M, Vec x, Vec y)
{
  BlockOp           *op;
  const MCGraph     *g;
  const PetscScalar *xa;
  PetscScalar       *ya;
  MPI_Comm           comm;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(M, &op));
  g = op->g;
  PetscCall(PetscObjectGetComm((PetscObject)M, &comm));
  PetscCall(VecScatterBegin(op->to_all, x, op->xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(op->to_all, x, op->xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(op->xall, &xa));
  PetscCall(PetscArrayzero(op->yall, g->n_nodes));
  for (PetscInt c = 0; c < op->n_chunk; ++c) {
    PetscInt   b = op->chunk[3 * c], r0 = op->chunk[3 * c + 1], r1 = op->chunk[3 * c + 2], nr, nc, panel;
    PetscInt   orow = g->group_offset[g->block_pair[2 * b]], ocol = g->group_offset[g->block_pair[2 * b + 1]];
    PetscReal  one = 1.0;
    PetscBLASInt bnc, bn, inc = 1;

    mc_graph_block_dims(g, b, &nr, &nc);
    panel = PetscMax(1, (128 * 1024) / (nc * (PetscInt)sizeof(PetscReal))); /* rows per pass: ~128 KiB */
    PetscCall(PetscBLASIntCast(nc, &bnc));
    for (PetscInt p = r0; p < r1; p += panel) {
      PetscInt         np = PetscMin(panel, r1 - p);
      const PetscReal *B  = g->block[b] + p * nc;
      PetscCall(PetscBLASIntCast(np, &bn));
      /* Row-major np x nc is column-major nc x np: B x_col is its transpose times x, B^T x_row the plain product. */
      PetscCallBLAS("BLASgemv", BLASgemv_("T", &bnc, &bn, &one, B, &bnc, xa + ocol, &inc, &one, op->yall + orow + p, &inc));
      PetscCallBLAS("BLASgemv", BLASgemv_("N", &bnc, &bn, &one, B, &bnc, xa + orow + p, &inc, &one, op->yall + ocol, &inc));
    }
  }
  PetscCall(VecRestoreArrayRead(op->xall, &xa));
  PetscCall(VecGetArray(y, &ya));
  PetscCallMPI(MPI_Reduce_scatter(op->yall, ya, op->counts, MPIU_REAL, MPI_SUM, comm));
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode blockop_destroy(Mat M)
{
  BlockOp *op;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(M, &op));
  PetscCall(VecScatterDestroy(&op->to_all));
  PetscCall(VecDestroy(&op->xall));
  PetscCall(PetscFree(op->chunk));
  PetscCall(PetscFree(op->yall));
  PetscCall(PetscFree(op->counts));
  PetscCall(PetscFree(op));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__graph_block_operator(const MCGraph *g)
{
  MPI_Comm     comm;
  PetscMPIInt  rank, size;
  BlockOp     *op;
  Mat          M;
  PetscInt     nloc, cap = 16;
  PetscInt64   total = 0, seen = 0, lo, hi;
  PetscBool    use = PETSC_TRUE;
  Vec          x;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-mc_block_mult", &use, NULL));
  if (!use || g->layered || !g->block || g->n_blocks == 0) PetscFunctionReturn(0);
  PetscCall(PetscObjectGetComm((PetscObject)g->adj, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscNew(&op));
  op->g = g;
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt nr, nc;
    mc_graph_block_dims(g, b, &nr, &nc);
    total += (PetscInt64)nr * nc;
  }
  lo = total * rank / size, hi = total * (rank + 1) / size;
  /* A row belongs to the rank whose entry range holds its first entry. */
  PetscCall(PetscMalloc1(3 * cap, &op->chunk));
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt nr, nc, r0 = -1;
    mc_graph_block_dims(g, b, &nr, &nc);
    for (PetscInt r = 0; r <= nr; ++r) {
      PetscBool mine = (r < nr && seen >= lo && seen < hi) ? PETSC_TRUE : PETSC_FALSE;
      if (mine && r0 < 0) r0 = r;
      if (!mine && r0 >= 0) {
        if (op->n_chunk == cap) {
          cap *= 2;
          PetscCall(PetscRealloc(3 * cap * sizeof(PetscInt), &op->chunk));
        }
        op->chunk[3 * op->n_chunk]     = b;
        op->chunk[3 * op->n_chunk + 1] = r0;
        op->chunk[3 * op->n_chunk + 2] = r;
        op->n_chunk++;
        r0 = -1;
      }
      if (r < nr) seen += nc;
    }
  }
  PetscCall(PetscMalloc1(g->n_nodes, &op->yall));
  PetscCall(PetscMalloc1(size, &op->counts));
  PetscCall(MatGetLocalSize(g->adj, &nloc, NULL));
  {
    PetscMPIInt n = (PetscMPIInt)nloc;
    PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, op->counts, 1, MPI_INT, comm));
  }
  PetscCall(MatCreateVecs(g->adj, &x, NULL));
  PetscCall(VecScatterCreateToAll(x, &op->to_all, &op->xall));
  PetscCall(VecDestroy(&x));
  PetscCall(MatCreateShell(comm, nloc, nloc, g->n_nodes, g->n_nodes, op, &M));
  PetscCall(MatShellSetOperation(M, MATOP_MULT, (void (*)(void))blockop_mult));
  PetscCall(MatShellSetOperation(M, MATOP_DESTROY, (void (*)(void))blockop_destroy));
  PetscCall(PetscObjectCompose((PetscObject)g->adj, "mc_graph_mult", (PetscObject)M));
  PetscCall(MatDestroy(&M));
  PetscFunctionReturn(0);
}
