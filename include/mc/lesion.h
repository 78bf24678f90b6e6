/* include/mc/lesion.h: the importance (lesion) test of docs/importance.md: sub-clusters, lesions
   of each sub-cluster and of random same-size sets farmed over the ranks, per-sub-cluster p-values and
   effects, and their combination (shifted Fisher per network, Bates across replicates, Benjamini-Hochberg).

   Tasks are (sub-cluster, draw) pairs; draw -1 is the sub-cluster itself. Draw d permutes the labels of
   every hidden layer's valid units with the stream (seed, MC_STREAM_LESION, replicate * 2^32 + d), so every
   rank rebuilds the same random sets, and results are bitwise identical for any rank count. */
#pragma once
#include <petscsys.h>
#include "mc/model.h"
#include "mc/graph.h"
#include "mc/cluster.h"
#include "mc/forward.h"
#include "mc/io.h"
#include "mc/pvalue.h"

/* Sub-clusters: cluster x hidden layer, with min_size <= size <= max_prop x valid units of the layer. */
typedef struct {
  PetscInt  n;       /* number of sub-clusters */
  PetscInt *layer;   /* n unit-layer numbers (1 = first weight layer's outputs; -1 possible when site >= 0) */
  PetscInt *site;    /* n: the consuming layer whose input channels are lesioned (a branched network's weight graph), else -1 */
  PetscInt *width;   /* n: units of the sub-cluster's group */
  PetscInt *group;   /* n graph groups */
  PetscInt *cluster; /* n cluster labels */
  PetscInt *offset;  /* n + 1 offsets into unit[] */
  PetscInt *unit;    /* offset[n] unit indices within their layer, ascending per sub-cluster */
} MCSubclusters;

/* mc_lesion_subclusters - The sub-clusters of `labels` (g->n_nodes labels, -1 = removed) on the hidden
   layers of the graph: groups whose unit layer is neither the input (0) nor the last (n_unit_layers - 1);
   in a branched network's weight graph (g->branched) the groups of role MC_GROUP_SOURCE (the input channels
   of a weight layer in the graph; the channels entering a Dense layer outside it or leaving the network are
   never lesioned), with site = that layer.
   A (layer, label) set is kept when min_size <= size <= max_prop * (valid units of the layer); removed
   units never count. Ordered by layer, then label. Not collective.
   Caller owns *out; release with mc_lesion_subclusters_destroy(). */
PetscErrorCode mc_lesion_subclusters(const MCGraph *g, const PetscInt labels[], PetscInt n_unit_layers, PetscInt min_size, PetscReal max_prop,
                                     MCSubclusters **out);

/* mc_lesion_subclusters_destroy - Free *s; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_lesion_subclusters_destroy(MCSubclusters **s);

/* [importance] control: also test a random partition with the same cluster sizes per layer (in the order
   of the key's choices). */
typedef enum { MC_CONTROL_NONE, MC_CONTROL_RANDOM_PARTITION } MCLesionControl;

/* Options of one lesion test. */
typedef struct {
  PetscInt     n_random;   /* random draws per sub-cluster (>= 1) */
  MCLesionMode mode;       /* outgoing (default) or incoming */
  PetscInt     min_size;   /* smallest sub-cluster (2) */
  PetscReal    max_prop;   /* largest sub-cluster as a share of the layer's valid units (0.99) */
  MCTies       ties;       /* p-value ties */
  uint64_t     seed;
  uint64_t     stream;     /* task ids of the random draws are stream + draw (replicate r: r << 32) */
  PetscInt     batch;      /* examples per engine slice; 0 = automatic (1000, or the largest batch that fits) */
  PetscReal    cache_mb;   /* memory per rank for cached clean activations (MiB); 0 = full passes */
  const char  *label;      /* progress label of the farm, or NULL */
  const char  *checkpoint_dir; /* finished tasks go to <dir>.ckpt-HASH.* beside this output directory; NULL = off */
} MCLesionOpts;

/* The lesion test of one network under one partition. Arrays are replicated on every rank. */
typedef struct {
  PetscInt   n_sub, n_random, n_classes, n_test;
  PetscInt  *layer, *group, *cluster, *size; /* n_sub each: unit layer, graph group, label, units */
  PetscReal *class_acc;              /* n_sub x n_classes per-class accuracy with the sub-cluster lesioned */
  PetscReal *mean_acc, *range;       /* n_sub: statistics of the sub-cluster (range NaN when mean change is 0) */
  PetscReal *mean_acc_random;        /* n_sub x n_random */
  PetscReal *range_random;           /* n_sub x n_random (NaN draws are skipped by the p-values) */
  PetscReal *p_mean, *p_range;       /* n_sub one-sided p-values (p_range NaN when range is NaN) */
  PetscReal *effect_mean, *effect_range;
  PetscReal *baseline_class_acc;     /* n_classes, no lesion */
  PetscReal  baseline_mean_acc;
  PetscReal  fisher_p_mean, fisher_p_range;       /* shifted Fisher over the sub-clusters (NaN if none) */
  PetscReal  fisher_stat_mean, fisher_stat_range; /* -(1/m) sum ln p' */
  PetscReal  effect_mean_avg, effect_mean_sem;    /* 2e, mean and SEM over sub-clusters */
  PetscReal  effect_range_avg, effect_range_sem;
  PetscReal  seconds;                             /* wall time of the farm */
  PetscReal  gflop;                               /* forward-pass GFLOP spent by all ranks (estimate) */
  PetscInt   n_resumed;                           /* tasks taken from a checkpoint instead of being computed */
  char       checkpoint_prefix[PETSC_MAX_PATH_LEN]; /* its files are <prefix>.<tag>; "" when off */
  char       model_path[PETSC_MAX_PATH_LEN];
} MCLesionResult;

/* mc_lesion_test - Run the lesion test of `model` for the partition `labels` of graph g on the dataset
   `data` (every rank holds it). Collective on comm. Caller owns *out; release with
   mc_lesion_result_destroy(). With opts->checkpoint_dir, finished tasks are recorded in
   <dir>.ckpt-HASH.* (mc_io_checkpoint_*; HASH covers the network, partition, test set and lesion settings,
   not n_random) and a rerun skips them (r->n_resumed); the files stay until
   mc_importance_checkpoint_clear. On SIGTERM (or after the test-only option -lesion_stop_after m tasks per
   rank) every rank finishes its current task and the test fails with PETSC_ERR_SIG. Errors:
   PETSC_ERR_USER_INPUT when the dataset's examples do not fit the model's input or the model has fewer
   classes than the dataset; PETSC_ERR_FILE_OPEN when another live run holds the checkpoint. */
PetscErrorCode mc_lesion_test(MPI_Comm comm, const MCLesionOpts *opts, const MCModel *model, const MCGraph *g, const PetscInt labels[],
                              const MCDataset *data, MCLesionResult **out);

/* mc_lesion_result_destroy - Free *r; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_lesion_result_destroy(MCLesionResult **r);

/* mc_lesion_random_partition - Labels of the random-partition control: within every graph group, the
   valid units' labels are permuted with the stream (seed, MC_STREAM_LESION, 2^62 + group), so each
   cluster keeps its size per layer; removed units stay -1. labels_out has g->n_nodes entries (caller
   owned). Not collective. */
PetscErrorCode mc_lesion_random_partition(const MCGraph *g, const PetscInt labels[], uint64_t seed, PetscInt labels_out[]);

/* The importance stage: the main network, its replicates and the optional control, combined. */
typedef struct MCImportance_s {
  PetscInt         n_nets;      /* 1 + number of [importance] replicates */
  MCLesionResult **net;         /* n_nets results; net[0] is the [model] network */
  MCLesionResult  *control;     /* random-partition control of net[0], or NULL */
  PetscReal        p_mean, p_range;            /* combined: Bates over the nets' Fisher p (n_nets > 1), else Fisher */
  PetscReal        fisher_stat_mean, fisher_stat_range; /* averaged over the nets */
  PetscReal        fdr_q;                      /* Benjamini-Hochberg level */
  PetscReal        bh_threshold;               /* i* q / M over the reported tests (0 if none rejected) */
  PetscBool        bh_reject_mean, bh_reject_range;
  PetscReal        bh_qval_mean, bh_qval_range;
  MCLesionMode     lesion;                     /* how the sub-clusters were silenced */
} MCImportance;

/* mc_importance_create - Room for the results of n_nets networks (net[] zeroed; the caller fills it and
   `control`), combined at level fdr_q; `mode` is recorded for the report. Not collective.
   Caller owns *out; release with mc_importance_destroy(). */
PetscErrorCode mc_importance_create(PetscInt n_nets, PetscReal fdr_q, MCLesionMode mode, MCImportance **out);

/* mc_importance_combine - Fisher per network (already in net[i]), Bates across the networks, and
   Benjamini-Hochberg over the two reported tests (p_mean, p_range). Not collective. */
PetscErrorCode mc_importance_combine(MCImportance *imp);

/* mc_importance_checkpoint_clear - Remove the checkpoint files of every lesion test of imp (rank 0). Call
   after the report is written. Does nothing for NULL or when checkpointing was off. Collective on comm. */
PetscErrorCode mc_importance_checkpoint_clear(MPI_Comm comm, const MCImportance *imp);

/* mc_importance_destroy - Free *imp; sets it to NULL; does nothing on NULL. Not collective. */
PetscErrorCode mc_importance_destroy(MCImportance **imp);

/* mc_lesion_class_stats - The statistics of docs/importance.md from per-class accuracies a[] and the
   baseline a0[] (n_classes each; NaN entries, classes absent from the test set, are skipped):
   *mean = mean_c a_c; *range = (max D - min D) / |mean D| with D_c = a_c - a0_c, NaN when mean D = 0
   (|mean D| <= 1e-12 max(1, max |D_c|): exactly cancelling changes leave only rounding noise).
   Not collective. */
void mc_lesion_class_stats(PetscInt n_classes, const PetscReal a[], const PetscReal a0[], PetscReal *mean, PetscReal *range);
