/* include/mc/sys.h: error and compatibility macros, logging stages and events, random streams. */
#pragma once
#include <petscsys.h>
#include <stdint.h>

#if PETSC_VERSION_LT(3, 19, 0)
  #define PETSC_SUCCESS 0
#endif

/* MC_VECTORIZE - compile an element-wise kernel with loop vectorization (the project builds with -O2, which
   leaves simple float loops scalar); GCC only. */
#if defined(__GNUC__) && !defined(__clang__)
  #define MC_VECTORIZE __attribute__((optimize("O3", "no-math-errno")))
#else
  #define MC_VECTORIZE
#endif

/* Log stages, one per pipeline phase, pushed by the stage runner (src/run) only, and events, one per
   kernel (k-means' seeding and iterations are events, so those of the shuffles count under Null). Set once
   by mc_sys_register_logging(). */
typedef enum {
  MC_STAGE_LOAD,
  MC_STAGE_GRAPH,
  MC_STAGE_SPECTRAL,
  MC_STAGE_NULL,
  MC_STAGE_LESION,
  MC_STAGE_COHERENCE,
  MC_STAGE_REPORT,
  MC_N_STAGES
} MCStage;

typedef enum {
  MC_EVENT_MODEL_READ,
  MC_EVENT_GRAPH_ASSEMBLE,
  MC_EVENT_EPS_SOLVE,
  MC_EVENT_KMEANS_SEED,
  MC_EVENT_KMEANS_ITER,
  MC_EVENT_FORWARD,
  MC_EVENT_FARM_TASK,
  MC_EVENT_WRITE,
  MC_EVENT_CORR_GRAM,
  MC_N_EVENTS
} MCEvent;

/* Ids filled once by mc_sys_register_logging(); read-only afterwards. */
extern PetscLogStage MC_STAGES[MC_N_STAGES];
extern PetscLogEvent MC_EVENTS[MC_N_EVENTS];

/* mc_sys_initialize - Install modclust's error handler, register log stages and events, and check the BLAS
   kernels (mc_sys_blas_check).
   Call once right after PetscInitialize(). Collective on PETSC_COMM_WORLD. */
PetscErrorCode mc_sys_initialize(void);

/* mc_sys_finalize - Undo mc_sys_initialize (the error handler). Call right before PetscFinalize(). */
PetscErrorCode mc_sys_finalize(void);

/* mc_sys_stage_push / mc_sys_stage_pop - Enter and leave a log stage. Collective. Before entering, the
   ranks agree whether a stop was requested (SIGTERM caught by mc_sys_sigterm_catch) and if so fail with
   PETSC_ERR_SIG, naming the stage that did not start (any stage but Report). */
PetscErrorCode mc_sys_stage_push(MPI_Comm comm, MCStage stage);
PetscErrorCode mc_sys_stage_pop(void);

/* mc_sys_finish - Agree on the exit status across comm after the pipeline returned `ierr` on this rank.
   Waits up to `timeout_s` seconds for every rank to arrive; if they do, it returns the exit status: 0 when
   every rank succeeded, MC_EXIT_STOPPED when the run stopped early on request (SIGTERM; PETSC_ERR_SIG)
   and no rank had another error, 1 otherwise; the caller may then finalize normally. If some rank never arrives (it is stuck
   in a collective that a failed rank left), the whole job is aborted with MPI_Abort, so no rank hangs.
   Collective on comm. Never raises. */
#define MC_EXIT_STOPPED 75 /* EX_TEMPFAIL: stopped early with its work checkpointed; rerun to resume */
int mc_sys_finish(MPI_Comm comm, PetscErrorCode ierr, double timeout_s);

/* mc_sys_rank0_status - After rank 0 alone ran a step that returned `ierr0` (0 on other ranks), broadcast
   the outcome and fail on every rank if it failed. The message was already printed by rank 0.
   Collective on comm. */
PetscErrorCode mc_sys_rank0_status(MPI_Comm comm, PetscErrorCode ierr0);

/* MC_ERR_REPORTED - error code for "already reported on another rank": the handler stays silent. */
#define MC_ERR_REPORTED PETSC_ERR_NOT_CONVERGED + 1000

/* mc_sys_version_string - Human-readable versions of the tool, git hash, PETSc, SLEPc, HDF5, MPI and the BLAS
   with its kernels into
   buf (size n). Not collective; legal before MPI_Init. */
void mc_sys_version_string(char *buf, size_t n);

/* ---- BLAS kernels (src/sys/blas.c) ---- */

/* mc_sys_blas_prepare - First thing in main, before MPI and PETSc: when the linked OpenBLAS chose kernels
   weaker than the CPU runs (a CPU newer than the library gets its generic ones) and neither the user nor
   the administrator set OPENBLAS_CORETYPE, set it to the CPU's kernels and re-execute the program with the
   same arguments, since OpenBLAS reads it only when it loads. MC_BLAS_AUTO=0 turns it off. Returns when
   nothing is to be done (or the re-execution failed). Not collective; legal before MPI_Init. */
void mc_sys_blas_prepare(char **argv);

/* mc_sys_blas_describe - "OpenBLAS, kernels Zen (the library's choice)" and the like: which kernels run and
   who chose them. Not collective; legal before MPI_Init. */
void mc_sys_blas_describe(char *buf, size_t n);

/* mc_sys_blas_check - -info names the BLAS and its kernels; rank 0 prints one warning line when they are
   weaker than the CPU runs and could not be fixed (what it costs and what to set). Collective on comm. */
PetscErrorCode mc_sys_blas_check(MPI_Comm comm);

/* mc_sys_warn_launcher - Warn (rank 0) when the job runs on one rank but the environment says the launcher
   started more (a wrong mpirun). Collective. */
PetscErrorCode mc_sys_warn_launcher(MPI_Comm comm);

/* ---- Hashing ---- */

/* mc_sys_hash - 64-bit FNV-1a of n bytes, continuing from h (start with MC_SYS_HASH_INIT). Not collective. */
#define MC_SYS_HASH_INIT 14695981039346656037ULL
uint64_t mc_sys_hash(uint64_t h, const void *data, size_t n);

/* ---- Distributed rows ---- */

/* mc_sys_ownership_start - The global index of this rank's first row when the rows (n_local on each rank)
   are numbered rank after rank: the sum of n_local over the lower ranks. Collective on comm. */
PetscErrorCode mc_sys_ownership_start(MPI_Comm comm, PetscInt n_local, PetscInt *start);

/* mc_sys_gatherv - Every rank's n_local items of MPI type `type` concatenated in rank order into `out`, on
   every rank (root < 0; `in` may be MPI_IN_PLACE when this rank's items already sit at their place in out)
   or on rank `root` only (out is ignored elsewhere). `out` has room for the total. Collective on comm. */
PetscErrorCode mc_sys_gatherv(MPI_Comm comm, PetscMPIInt root, const void *in, PetscInt n_local, MPI_Datatype type, void *out);

/* ---- Memory ---- */

/* mc_sys_memory_per_rank - The memory one rank may plan to use, in bytes: the node's available memory
   (MemAvailable) shared by the ranks of comm on that node, the smallest over the nodes; or the value of the
   option -mc_memory_per_rank (bytes) where the node's figure misleads (batch-system limits). The same on
   every rank. Collective on comm. */
PetscErrorCode mc_sys_memory_per_rank(MPI_Comm comm, double *bytes);

/* ---- Advisory locks: keep two jobs, or the ranks a killed launcher left running, off the same files. ---- */
typedef struct MCLock MCLock;

/* mc_sys_lock_acquire - Claim the files guarded by the lock file `path` (`what` names them in messages):
   rank 0 creates `path` and holds a POSIX record lock on it (byte 0 exclusive) and every rank a shared one
   (byte 1), until mc_sys_lock_release. Fails on every rank with PETSC_ERR_FILE_OPEN, naming `what` and
   `path`, when a live process of another job holds either byte. On a file system without record locks
   *lock is NULL (no protection; -info says so); a rank other than 0 that cannot open `path` goes without.
   Collective on comm. Caller owns *lock. */
PetscErrorCode mc_sys_lock_acquire(MPI_Comm comm, const char *path, const char *what, MCLock **lock);

/* mc_sys_lock_release - Drop the lock (rank 0 also removes the file); sets *lock to NULL; NULL is fine.
   Not collective: process exit drops the lock as well, however the process ends. */
PetscErrorCode mc_sys_lock_release(MCLock **lock);

/* ---- SIGTERM as a request to stop (Slurm's --signal, scancel) ---- */
typedef struct MCSigterm MCSigterm;

/* mc_sys_sigterm_catch - From now on SIGTERM only sets a flag (cleared here) that long stages poll with
   mc_sys_sigterm_received between tasks, instead of killing the process. Not collective. Caller owns *s;
   mc_sys_sigterm_restore puts back the previous handler. */
PetscErrorCode mc_sys_sigterm_catch(MCSigterm **s);
PetscBool      mc_sys_sigterm_received(void);
PetscErrorCode mc_sys_sigterm_restore(MCSigterm **s);

/* ---- Random streams: Philox4x32-10 keyed by (seed, stream), stream = (purpose tag, task id). ----
   A task gets the same numbers on any rank and for any rank count. Nothing that reaches a result uses
   rand() or PetscRandom. */
typedef enum {
  MC_STREAM_KMEANS = 1,   /* task = restart index */
  MC_STREAM_SHUFFLE = 2,  /* task = shuffle index * 4096 + block */
  MC_STREAM_LESION = 3,   /* task = draw index */
  MC_STREAM_COHERENCE = 4,
  MC_STREAM_DATA = 5,     /* data subsets */
  MC_STREAM_SYNTH = 6,    /* synthetic networks */
  MC_STREAM_INIT = 7,     /* weight initialisation */
  MC_STREAM_TRAIN = 8,    /* minibatch order, dropout */
  MC_STREAM_ACTIVATIONS = 9 /* the examples of the activation graph, task 0 */
} MCStreamTag;

typedef struct {
  uint32_t key[2];    /* seed */
  uint32_t ctr[4];    /* [0..1] block counter, [2] tag, [3] task */
  uint32_t buf[4];    /* last generated block */
  int      n_buf;     /* unread words left in buf */
} MCRng;

/* mc_rng_init - Start the stream (seed, tag, task) at its first draw. Not collective. */
void mc_rng_init(MCRng *r, uint64_t seed, MCStreamTag tag, uint64_t task);
/* mc_rng_u32 / mc_rng_u64 - next raw 32 / 64 random bits. */
uint32_t mc_rng_u32(MCRng *r);
uint64_t mc_rng_u64(MCRng *r);
/* mc_rng_uniform - uniform double in [0, 1) with 53 random bits. */
double mc_rng_uniform(MCRng *r);
/* mc_rng_below - unbiased integer in [0, n), n >= 1 (rejection sampling). */
uint64_t mc_rng_below(MCRng *r, uint64_t n);
/* mc_rng_normal - standard normal (Box-Muller, both values consumed one at a time). */
double mc_rng_normal(MCRng *r);
/* mc_rng_permute - a uniform random permutation of perm[0..n) in place (Fisher-Yates from the end). */
void mc_rng_permute(MCRng *r, PetscInt n, PetscInt perm[]);
