/* tests/cluster/test_ari.c: mc_stats_ari and mc_stats_nmi against scikit-learn 1.2's adjusted_rand_score and
   normalized_mutual_info_score values (constants). */
#include "mc/stats.h"

static PetscErrorCode expect(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal want)
{
  PetscReal got;

  PetscFunctionBeginUser;
  PetscCall(mc_stats_ari(n, a, b, &got));
  PetscCheck(PetscAbsReal(got - want) < 1e-14, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ARI %.17g, expected %.17g", (double)got, (double)want);
  PetscCall(mc_stats_ari(n, b, a, &got));
  PetscCheck(PetscAbsReal(got - want) < 1e-14, PETSC_COMM_SELF, PETSC_ERR_PLIB, "ARI (swapped) %.17g, expected %.17g", (double)got, (double)want);
  PetscFunctionReturn(0);
}

static PetscErrorCode expect_nmi(PetscInt n, const PetscInt a[], const PetscInt b[], PetscReal want)
{
  PetscReal got, swapped;

  PetscFunctionBeginUser;
  PetscCall(mc_stats_nmi(n, a, b, &got));
  PetscCall(mc_stats_nmi(n, b, a, &swapped));
  PetscCheck(PetscAbsReal(got - want) < 1e-14 && PetscAbsReal(swapped - want) < 1e-14, PETSC_COMM_SELF, PETSC_ERR_PLIB, "NMI %.17g / %.17g, expected %.17g", (double)got,
             (double)swapped, (double)want);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt a1[8] = {0, 0, 1, 1, 2, 2, 2, -1}, b1[8] = {1, 1, 0, 0, 0, 2, 2, 2};
  const PetscInt a2[4] = {0, 0, 0, 0}, b2[4] = {1, 1, 1, 1};
  const PetscInt a3[4] = {0, 1, 2, 3}, b3[4] = {5, 6, 7, 8};
  const PetscInt a4[4] = {0, 0, 1, 1}, b4[4] = {0, 1, 0, 1};
  const PetscInt a5[10] = {3, 3, 3, 1, 1, 7, 7, 7, 7, 2}, b5[10] = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(expect(8, a1, b1, 0.3684210526315789));
  PetscCall(expect(4, a2, b2, 1.0));
  PetscCall(expect(4, a3, b3, 1.0));
  PetscCall(expect(4, a4, b4, -0.5));
  PetscCall(expect(10, a5, b5, 0.4461538461538462));
  PetscCall(expect(8, a1, a1, 1.0));
  PetscCall(expect_nmi(8, a1, b1, 0.7020168761809934));
  PetscCall(expect_nmi(4, a2, b2, 1.0));
  PetscCall(expect_nmi(4, a3, b3, 1.0));
  PetscCall(expect_nmi(4, a4, b4, 0.0));
  PetscCall(expect_nmi(10, a5, b5, 0.7182659441747596));
  PetscCall(expect_nmi(4, a2, a3, 0.0));
  PetscCall(PetscFinalize());
  return 0;
}
