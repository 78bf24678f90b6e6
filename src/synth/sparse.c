/* src/synth/sparse.c: large sparse graphs with planted modules, generated row by row on their owners. */
#include "mc/synth.h"
#include "mc/sys.h"

/* A weight in [0.5, 1.5) from the unordered pair (i, j), the same whichever row asks. */
static PetscReal pair_weight(uint64_t seed, PetscInt i, PetscInt j)
{
  MCRng    r;
  uint64_t lo = (uint64_t)PetscMin(i, j), hi = (uint64_t)PetscMax(i, j);

  mc_rng_init(&r, seed, MC_STREAM_SYNTH, (hi << 32) ^ lo);
  return 0.5 + mc_rng_uniform(&r);
}

/* The offsets (in module-local index space) used between module a and module b = a + shift (mod m):
   shift 0 is the module itself. Drawn from a stream of the unordered module pair, so both ends agree. */
static void pair_offsets(uint64_t seed, PetscInt a, PetscInt b, PetscInt bs, PetscInt n, PetscInt off[])
{
  MCRng    r;
  PetscInt lo = PetscMin(a, b), hi = PetscMax(a, b);

  mc_rng_init(&r, seed ^ 0x5bd1e995u, MC_STREAM_SYNTH, ((uint64_t)lo << 32) | (uint64_t)hi);
  for (PetscInt t = 0; t < n; ++t) off[t] = 1 + (PetscInt)mc_rng_below(&r, (uint64_t)(bs - 1));
}

PetscErrorCode mc_synth_planted_sparse(MPI_Comm comm, const MCSynthSparseOpts *o, Mat *A)
{
  PetscInt  rstart, rend, m = o->n_modules, bs, n_in, n_out, max_row, *cols, *d_nnz, *o_nnz, *off;
  PetscReal *vals;

  PetscFunctionBeginUser;
  PetscCheck(m >= 1 && o->n_nodes % m == 0, comm, PETSC_ERR_USER_INPUT, "n_nodes (%" PetscInt_FMT ") must be a multiple of n_modules (%" PetscInt_FMT ")", o->n_nodes, m);
  bs = o->n_nodes / m;
  /* Half the degree as +offsets; each +offset also appears as -offset at the partner, so a row gets
     2 * (n_in + n_out) entries (fewer only if two offsets coincide modulo bs). */
  n_in  = (PetscInt)(0.5 * (PetscReal)o->degree * o->p_in + 0.5);
  n_out = o->degree / 2 - n_in;
  PetscCheck(n_in >= 1 && n_out >= 0 && 2 * n_in < bs, comm, PETSC_ERR_USER_INPUT, "degree %" PetscInt_FMT " and p_in %g do not fit modules of %" PetscInt_FMT " nodes",
             o->degree, (double)o->p_in, bs);
  max_row = 2 * (n_in + n_out);
  PetscCall(MatCreate(comm, A));
  PetscCall(MatSetSizes(*A, PETSC_DECIDE, PETSC_DECIDE, o->n_nodes, o->n_nodes));
  PetscCall(MatSetType(*A, MATAIJ));
  PetscCall(MatSetUp(*A)); /* fixes the layout so the ownership range is known */
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(PetscMalloc5(max_row, &cols, max_row, &vals, rend - rstart, &d_nnz, rend - rstart, &o_nnz, n_in + n_out, &off));

  /* Rows are generated twice: once to count (exact preallocation), once to insert. */
  for (int pass = 0; pass < 2; ++pass) {
    for (PetscInt i = rstart; i < rend; ++i) {
      PetscInt a = i % m, li = i / m, nc = 0;
      /* Cross-module partners: module b = a + s, shift s drawn per pair from the offsets' stream. */
      pair_offsets(o->seed, a, a, bs, n_in, off);
      for (PetscInt t = 0; t < n_in; ++t) {
        cols[nc++] = ((li + off[t]) % bs) * m + a;
        cols[nc++] = ((li - off[t] + bs) % bs) * m + a;
      }
      for (PetscInt t = 0; t < n_out; ++t) {
        /* The t-th cross link of module a goes to module a + s_t and back from a - s_t, with offset +o and -o:
           node (li, a) -> (li + o, a + s) and (li - o, a - s); the partner's own rule maps it back. */
        PetscInt s  = 1 + (t % PetscMax(m - 1, 1)), b1 = (a + s) % m, b0 = (a - s + m) % m, o1, o0;
        if (m == 1) break;
        pair_offsets(o->seed, PetscMin(a, b1) * m + PetscMax(a, b1), t, bs, 1, &o1);
        pair_offsets(o->seed, PetscMin(a, b0) * m + PetscMax(a, b0), t, bs, 1, &o0);
        /* Orientation: the lower module of the pair adds the offset, the higher subtracts it. */
        cols[nc++] = (a < b1 ? (li + o1) % bs : (li - o1 + bs) % bs) * m + b1;
        cols[nc++] = (b0 < a ? (li - o0 + bs) % bs : (li + o0) % bs) * m + b0;
      }
      /* Sort and drop duplicates and self loops. */
      PetscCall(PetscSortInt(nc, cols));
      {
        PetscInt u = 0;
        for (PetscInt q = 0; q < nc; ++q)
          if (cols[q] != i && (u == 0 || cols[q] != cols[u - 1])) cols[u++] = cols[q];
        nc = u;
      }
      if (pass == 0) {
        d_nnz[i - rstart] = o_nnz[i - rstart] = 0;
        for (PetscInt q = 0; q < nc; ++q) {
          if (cols[q] >= rstart && cols[q] < rend) d_nnz[i - rstart]++;
          else o_nnz[i - rstart]++;
        }
      } else {
        for (PetscInt q = 0; q < nc; ++q) vals[q] = pair_weight(o->seed, i, cols[q]);
        PetscCall(MatSetValues(*A, 1, &i, nc, cols, vals, INSERT_VALUES));
      }
    }
    if (pass == 0) {
      PetscCall(MatSeqAIJSetPreallocation(*A, 0, d_nnz));
      PetscCall(MatMPIAIJSetPreallocation(*A, 0, d_nnz, 0, o_nnz));
      PetscCall(MatSetOption(*A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
    }
  }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(*A, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(PetscFree5(cols, vals, d_nnz, o_nnz, off));
  PetscFunctionReturn(0);
}
