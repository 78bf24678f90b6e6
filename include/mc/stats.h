/* include/mc/stats.h: small statistics on label arrays. */
#pragma once
#include <petscsys.h>

/* mc_stats_ari - Adjusted Rand index of two labelings a and b of n items (any integer labels; -1 is an
   ordinary label here, so compare only the kept items if removed nodes should not count). Same value as
   scikit-learn's adjusted_rand_score, including 1.0 for the degenerate cases (both one cluster, or both
   all singletons). Not collective. */
PetscErrorCode mc_stats_ari(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *ari);

/* mc_stats_nmi - Normalised mutual information of a and b (arithmetic mean of the entropies, natural log):
   scikit-learn's normalized_mutual_info_score with its default average_method, 1.0 when both are one
   cluster. Labels as in mc_stats_ari. Not collective. */
PetscErrorCode mc_stats_nmi(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal *nmi);
