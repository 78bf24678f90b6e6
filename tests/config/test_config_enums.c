/* tests/config/test_config_enums.c: every ENUM key of the schema stores the index of its value in the
   key's choices, and src/run (or src/train) casts that index to a module's C enum; modclust-mpi's schema and
   modclust-train's. This test lists, by hand, the C value
   of every choice and checks that it equals the index, that no choice of the schema is missing here, and
   that the modules' name functions give back the configuration's words. A choice added to config.def
   without its C value (or in another order) fails here. */
#include <string.h>
#include "mc/mc.h"
#include "../../src/config/config_impl.h"

#define CHECK(cond, ...) PetscCheck(cond, PETSC_COMM_SELF, PETSC_ERR_PLIB, __VA_ARGS__)

typedef struct {
  const char *section; /* NULL: a [layer.N] key */
  const char *key, *choice;
  int         value;       /* the module's C enum value */
  const char *module_name; /* the module's name function's answer, or NULL when it has none */
} Pair;

#define P(sec, key, choice, value, name) {sec, key, choice, (int)(value), name}
/* An automatic array: the name functions are called at run time. */
#define PAIRS_INIT { \
  P("model", "format", "auto", MC_MODEL_FORMAT_AUTO, NULL), \
  P("model", "format", "keras", MC_MODEL_FORMAT_KERAS, NULL), \
  P("model", "format", "safetensors", MC_MODEL_FORMAT_SAFETENSORS, NULL), \
  P("model", "format", "native", MC_MODEL_FORMAT_NATIVE, NULL), \
  P("model", "format", "onnx", MC_MODEL_FORMAT_ONNX, NULL), \
  P("model", "layout", "auto", MC_LAYOUT_AUTO, NULL), \
  P("model", "layout", "keras", MC_LAYOUT_KERAS, NULL), \
  P("model", "layout", "torch", MC_LAYOUT_TORCH, NULL), \
  P("model", "infer", "none", MC_INFER_NONE, NULL), \
  P("model", "infer", "mlp", MC_INFER_MLP, NULL), \
  P("graph", "kind", "weights", MC_GRAPH_WEIGHTS, mc_graph_kind_name(MC_GRAPH_WEIGHTS)), \
  P("graph", "kind", "activations", MC_GRAPH_ACTIVATIONS, mc_graph_kind_name(MC_GRAPH_ACTIVATIONS)), \
  P("graph", "conv_norm", "l1", MC_CONV_NORM_L1, mc_graph_conv_norm_name(MC_CONV_NORM_L1)), \
  P("graph", "conv_norm", "induced_l1", MC_CONV_NORM_INDUCED_L1, mc_graph_conv_norm_name(MC_CONV_NORM_INDUCED_L1)), \
  P("graph", "conv_norm", "l2", MC_CONV_NORM_L2, mc_graph_conv_norm_name(MC_CONV_NORM_L2)), \
  P("graph", "conv_norm", "fro", MC_CONV_NORM_FRO, mc_graph_conv_norm_name(MC_CONV_NORM_FRO)), \
  P("data", "preprocess", "none", MC_PREPROCESS_NONE, mc_io_preprocess_name(MC_PREPROCESS_NONE)), \
  P("data", "preprocess", "caffe", MC_PREPROCESS_CAFFE, mc_io_preprocess_name(MC_PREPROCESS_CAFFE)), \
  P("data", "preprocess", "torch", MC_PREPROCESS_TORCH, mc_io_preprocess_name(MC_PREPROCESS_TORCH)), \
  P("data", "preprocess", "tf", MC_PREPROCESS_TF, mc_io_preprocess_name(MC_PREPROCESS_TF)), \
  P("graph", "bn_negative", "keep", MC_BN_NEGATIVE_KEEP, mc_graph_bn_negative_name(MC_BN_NEGATIVE_KEEP)), \
  P("graph", "bn_negative", "clip", MC_BN_NEGATIVE_CLIP, mc_graph_bn_negative_name(MC_BN_NEGATIVE_CLIP)), \
  P("graph", "act_spatial_norm", "l1", MC_SPATIAL_L1, mc_graph_spatial_norm_name(MC_SPATIAL_L1)), \
  P("graph", "act_spatial_norm", "induced_l1", MC_SPATIAL_INDUCED_L1, mc_graph_spatial_norm_name(MC_SPATIAL_INDUCED_L1)), \
  P("graph", "act_spatial_norm", "l2", MC_SPATIAL_L2, mc_graph_spatial_norm_name(MC_SPATIAL_L2)), \
  P("graph", "act_spatial_norm", "fro", MC_SPATIAL_FRO, mc_graph_spatial_norm_name(MC_SPATIAL_FRO)), \
  P("graph", "act_spatial_norm", "mean", MC_SPATIAL_MEAN, mc_graph_spatial_norm_name(MC_SPATIAL_MEAN)), \
  P("graph", "act_corr", "spearman", MC_CORR_SPEARMAN, mc_graph_corr_name(MC_CORR_SPEARMAN)), \
  P("graph", "act_corr", "pearson", MC_CORR_PEARSON, mc_graph_corr_name(MC_CORR_PEARSON)), \
  P("graph", "act_corr", "kendall", MC_CORR_KENDALL, mc_graph_corr_name(MC_CORR_KENDALL)), \
  P("graph", "scope", "global", MC_SCOPE_GLOBAL, mc_graph_scope_name(MC_SCOPE_GLOBAL)), \
  P("graph", "scope", "local", MC_SCOPE_LOCAL, mc_graph_scope_name(MC_SCOPE_LOCAL)), \
  P("graph", "local_k", "fixed", MC_LOCAL_K_FIXED, mc_cluster_local_k_name(MC_LOCAL_K_FIXED)), \
  P("graph", "local_k", "reference", MC_LOCAL_K_REFERENCE, mc_cluster_local_k_name(MC_LOCAL_K_REFERENCE)), \
  P("importance", "lesion", "outgoing", MC_LESION_OUTGOING, mc_forward_lesion_mode_name(MC_LESION_OUTGOING)), \
  P("importance", "lesion", "incoming", MC_LESION_INCOMING, mc_forward_lesion_mode_name(MC_LESION_INCOMING)), \
  P("importance", "control", "none", MC_CONTROL_NONE, NULL), \
  P("importance", "control", "random_partition", MC_CONTROL_RANDOM_PARTITION, NULL), \
  P("importance", "p_ties", "inclusive", MC_TIES_INCLUSIVE, mc_stats_ties_name(MC_TIES_INCLUSIVE)), \
  P("importance", "p_ties", "strict", MC_TIES_STRICT, mc_stats_ties_name(MC_TIES_STRICT)), \
  P("clusterability", "shuffle", "layer", MC_SHUFFLE_LAYER, mc_shuffle_kind_name(MC_SHUFFLE_LAYER)), \
  P("clusterability", "shuffle", "layer_nonzero", MC_SHUFFLE_LAYER_NONZERO, mc_shuffle_kind_name(MC_SHUFFLE_LAYER_NONZERO)), \
  P("clusterability", "p_ties", "inclusive", MC_TIES_INCLUSIVE, mc_stats_ties_name(MC_TIES_INCLUSIVE)), \
  P("clusterability", "p_ties", "strict", MC_TIES_STRICT, mc_stats_ties_name(MC_TIES_STRICT)), \
  P("output", "file_locking", "auto", MC_FILE_LOCKING_AUTO, NULL), \
  P("output", "file_locking", "on", MC_FILE_LOCKING_ON, NULL), \
  P("output", "file_locking", "off", MC_FILE_LOCKING_OFF, NULL), \
  P(NULL, "type", "dense", MC_LAYER_DENSE, mc_model_layer_type_name(MC_LAYER_DENSE)), \
  P(NULL, "type", "conv2d", MC_LAYER_CONV2D, mc_model_layer_type_name(MC_LAYER_CONV2D)), \
  P(NULL, "type", "maxpool2d", MC_LAYER_MAXPOOL2D, mc_model_layer_type_name(MC_LAYER_MAXPOOL2D)), \
  P(NULL, "type", "avgpool2d", MC_LAYER_AVGPOOL2D, mc_model_layer_type_name(MC_LAYER_AVGPOOL2D)), \
  P(NULL, "type", "flatten", MC_LAYER_FLATTEN, mc_model_layer_type_name(MC_LAYER_FLATTEN)), \
  P(NULL, "type", "activation", MC_LAYER_ACTIVATION, mc_model_layer_type_name(MC_LAYER_ACTIVATION)), \
  P(NULL, "type", "batchnorm", MC_LAYER_BATCHNORM, mc_model_layer_type_name(MC_LAYER_BATCHNORM)), \
  P(NULL, "type", "dropout", MC_LAYER_DROPOUT, mc_model_layer_type_name(MC_LAYER_DROPOUT)), \
  P(NULL, "type", "softmax", MC_LAYER_SOFTMAX, mc_model_layer_type_name(MC_LAYER_SOFTMAX)), \
  P(NULL, "activation", "linear", MC_ACT_LINEAR, mc_model_activation_name(MC_ACT_LINEAR)), \
  P(NULL, "activation", "relu", MC_ACT_RELU, mc_model_activation_name(MC_ACT_RELU)), \
  P(NULL, "activation", "sigmoid", MC_ACT_SIGMOID, mc_model_activation_name(MC_ACT_SIGMOID)), \
  P(NULL, "activation", "tanh", MC_ACT_TANH, mc_model_activation_name(MC_ACT_TANH)), \
  P(NULL, "activation", "softmax", MC_ACT_SOFTMAX, mc_model_activation_name(MC_ACT_SOFTMAX)), \
  P(NULL, "activation", "elu", MC_ACT_ELU, mc_model_activation_name(MC_ACT_ELU)), \
  P(NULL, "activation", "selu", MC_ACT_SELU, mc_model_activation_name(MC_ACT_SELU)), \
  P(NULL, "activation", "softplus", MC_ACT_SOFTPLUS, mc_model_activation_name(MC_ACT_SOFTPLUS)), \
  P(NULL, "activation", "gelu", MC_ACT_GELU, mc_model_activation_name(MC_ACT_GELU)), \
  P(NULL, "activation", "leaky_relu", MC_ACT_LEAKY_RELU, mc_model_activation_name(MC_ACT_LEAKY_RELU)), \
  P(NULL, "padding", "valid", MC_PAD_VALID, NULL), \
  P(NULL, "padding", "same", MC_PAD_SAME, NULL), \
  P("train", "arch", "mlp", MC_TRAIN_MLP, NULL), \
  P("train", "arch", "cnn", MC_TRAIN_CNN, NULL), \
  P("train", "variant", "plain", MC_VARIANT_PLAIN, mc_train_variant_name(MC_VARIANT_PLAIN)), \
  P("train", "variant", "halves", MC_VARIANT_HALVES, mc_train_variant_name(MC_VARIANT_HALVES)), \
  P("train", "variant", "halves_same", MC_VARIANT_HALVES_SAME, mc_train_variant_name(MC_VARIANT_HALVES_SAME)), \
  P("train", "variant", "stacked", MC_VARIANT_STACKED, mc_train_variant_name(MC_VARIANT_STACKED)), \
  P("train", "variant", "stacked_same", MC_VARIANT_STACKED_SAME, mc_train_variant_name(MC_VARIANT_STACKED_SAME)), \
  P("train", "variant", "rgb", MC_VARIANT_RGB, mc_train_variant_name(MC_VARIANT_RGB)), \
  P("train", "variant", "poly", MC_VARIANT_POLY, mc_train_variant_name(MC_VARIANT_POLY)), \
}

static PetscBool same_key(const Pair *p, const MCKeyInfo *k)
{
  if (!p->section != !k->section) return PETSC_FALSE;
  return (!p->section || !strcmp(p->section, k->section)) && !strcmp(p->key, k->key) ? PETSC_TRUE : PETSC_FALSE;
}

/* Every choice of every ENUM key in `keys` has its pair, with value == index; counts the pairs seen. */
static PetscErrorCode check_keys(const MCKeyInfo keys[], PetscInt n, const Pair PAIRS[], size_t N_PAIRS, PetscBool seen[])
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; ++i) {
    const MCKeyInfo *k = &keys[i];
    int              idx = 0;

    if (k->type != MC_CONFIG_ENUM) continue;
    for (const char *c = k->choices; *c; ++idx) {
      size_t    len   = strcspn(c, "|");
      PetscBool found = PETSC_FALSE;

      for (size_t p = 0; p < N_PAIRS; ++p) {
        if (!same_key(&PAIRS[p], k) || strlen(PAIRS[p].choice) != len || strncmp(PAIRS[p].choice, c, len)) continue;
        CHECK(PAIRS[p].value == idx, "[%s] %s = %s: the C value is %d but the choice is number %d in config.def", k->section ? k->section : "layer.N", k->key,
              PAIRS[p].choice, PAIRS[p].value, idx);
        CHECK(!PAIRS[p].module_name || !strcmp(PAIRS[p].module_name, PAIRS[p].choice), "[%s] %s = %s: the module names it '%s'", k->section ? k->section : "layer.N",
              k->key, PAIRS[p].choice, PAIRS[p].module_name);
        seen[p] = found = PETSC_TRUE;
      }
      CHECK(found, "[%s] %s = %.*s has no C value in this test (and perhaps none in its module)", k->section ? k->section : "layer.N", k->key, (int)len, c);
      c += len + (c[len] == '|');
    }
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const Pair   PAIRS[] = PAIRS_INIT;
  const size_t N_PAIRS = sizeof(PAIRS) / sizeof(PAIRS[0]);
  PetscBool    seen[96] = {PETSC_FALSE};

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  CHECK(N_PAIRS <= 96, "too many pairs");
  PetscCall(check_keys(mc__config_keys, mc__config_n_keys, PAIRS, N_PAIRS, seen));
  PetscCall(check_keys(mc__config_layer_keys, mc__config_n_layer_keys, PAIRS, N_PAIRS, seen));
  PetscCall(check_keys(mc_train_config_schema()->keys, mc_train_config_schema()->n_keys, PAIRS, N_PAIRS, seen));
  for (size_t p = 0; p < N_PAIRS; ++p) CHECK(seen[p], "[%s] %s = %s is listed here but not in config.def", PAIRS[p].section ? PAIRS[p].section : "layer.N", PAIRS[p].key, PAIRS[p].choice);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_config_enums: %d choices map to their C values\n", (int)N_PAIRS));
  PetscCall(PetscFinalize());
  return 0;
}
