/* tests/config/test_config_parse.c: good configurations parse to the expected fields on every rank.
   Expected values are written out here, not taken from the schema, so a schema or parser change that alters
   a default or a value is caught. Usage: test_config_parse GOOD_DIR */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "mc/config.h"
#include "../../src/config/config_impl.h"

#define CHECK(cond, ...) PetscCheck(cond, PETSC_COMM_SELF, PETSC_ERR_PLIB, __VA_ARGS__)

static PetscErrorCode check_str(const char *what, const char *got, const char *want)
{
  PetscFunctionBeginUser;
  CHECK(!strcmp(got, want), "%s: got '%s', expected '%s'", what, got, want);
  PetscFunctionReturn(0);
}

/* An ENUM key's stored index names the expected choice ([layer.N] keys: section NULL). */
static PetscErrorCode check_enum(const char *what, const char *section, const char *key, int got, const char *want)
{
  const MCKeyInfo *keys = section ? mc__config_keys : mc__config_layer_keys;
  PetscInt         n    = section ? mc__config_n_keys : mc__config_n_layer_keys;
  const char      *name = NULL;
  size_t           len  = 0;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; ++i) {
    if ((!section || !strcmp(keys[i].section, section)) && !strcmp(keys[i].key, key)) name = mc__config_enum_name(keys[i].choices, got, &len);
  }
  CHECK(name && len == strlen(want) && !strncmp(name, want, len), "%s: got choice %d (%.*s), expected '%s'", what, got, (int)len, name ? name : "", want);
  PetscFunctionReturn(0);
}

static PetscErrorCode check_int(const char *what, PetscInt64 got, PetscInt64 want)
{
  PetscFunctionBeginUser;
  CHECK(got == want, "%s: got %lld, expected %lld", what, (long long)got, (long long)want);
  PetscFunctionReturn(0);
}

static PetscErrorCode check_real(const char *what, PetscReal got, PetscReal want)
{
  PetscFunctionBeginUser;
  CHECK(got == want, "%s: got %.17g, expected %.17g", what, (double)got, (double)want);
  PetscFunctionReturn(0);
}

/* A file that sets every key, plus overrides that beat it. */
static PetscErrorCode test_full(const char *dir, const char *cwd)
{
  char        path[PETSC_MAX_PATH_LEN], want[PETSC_MAX_PATH_LEN];
  const char *ov[] = {"cluster.k=9", "output.overwrite=true", " clusterability.group_size = 2 "};
  MCConfig   *cfg;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/full.ini", dir));
  PetscCall(mc_config_load(PETSC_COMM_WORLD, path, 3, ov, &cfg));
  PetscCall(check_str("path", cfg->path, path));
  PetscCall(check_str("dir", cfg->dir, dir));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/nets/model.h5", dir));
  PetscCall(check_str("model.path (relative to the file)", cfg->model_path, want));
  PetscCall(check_enum("model.format", "model", "format", cfg->model_format, "keras"));
  PetscCall(check_enum("model.layout", "model", "layout", cfg->model_layout, "torch"));
  PetscCall(check_str("model.input_shape", cfg->model_input_shape, "1, 28,28"));
  PetscCall(check_enum("model.infer", "model", "infer", cfg->model_infer, "none"));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/../data#1", dir));
  PetscCall(check_str("data.source ('#' kept, relative to the file)", cfg->data_source, want));
  PetscCall(check_enum("graph.kind", "graph", "kind", cfg->graph_kind, "activations"));
  PetscCall(check_enum("graph.conv_norm", "graph", "conv_norm", cfg->graph_conv_norm, "induced_l1"));
  PetscCall(check_int("graph.fold_batchnorm", cfg->graph_fold_batchnorm, PETSC_FALSE));
  PetscCall(check_int("graph.include_dense_head", cfg->graph_include_dense_head, PETSC_TRUE));
  PetscCall(check_int("cluster.k (override beats file)", cfg->cluster_k, 9));
  PetscCall(check_int("cluster.n_init", cfg->cluster_n_init, 10));
  PetscCall(check_int("cluster.seed", cfg->cluster_seed, 12345678901LL));
  PetscCall(check_int("cluster.max_iter", cfg->cluster_max_iter, 50));
  PetscCall(check_real("cluster.tol", cfg->cluster_tol, 2.5e-3));
  PetscCall(check_real("cluster.eig_tol", cfg->cluster_eig_tol, 1e-9));
  PetscCall(check_int("cluster.eig_max_it (repeated section)", cfg->cluster_eig_max_it, 777));
  PetscCall(check_int("importance.enabled", cfg->importance_enabled, PETSC_TRUE));
  PetscCall(check_int("importance.n_random", cfg->importance_n_random, 29));
  PetscCall(check_enum("importance.lesion", "importance", "lesion", cfg->importance_lesion, "incoming"));
  PetscCall(check_int("coherence.enabled", cfg->coherence_enabled, PETSC_TRUE));
  PetscCall(check_int("coherence.n_random", cfg->coherence_n_random, 9));
  PetscCall(check_int("clusterability.n_shuffles", cfg->clusterability_n_shuffles, 50));
  PetscCall(check_enum("clusterability.shuffle", "clusterability", "shuffle", cfg->clusterability_shuffle, "layer_nonzero"));
  PetscCall(check_int("clusterability.group_size (override)", cfg->clusterability_group_size, 2));
  PetscCall(check_str("output.dir (not resolved)", cfg->output_dir, "out/run1"));
  PetscCall(check_int("output.save_graph", cfg->output_save_graph, PETSC_TRUE));
  PetscCall(check_int("output.overwrite (override)", cfg->output_overwrite, PETSC_TRUE));
  PetscCall(check_enum("output.file_locking (tabs)", "output", "file_locking", cfg->output_file_locking, "off"));
  PetscCall(check_int("n_layer_specs", cfg->n_layer_specs, 0));
  CHECK(strstr(cfg->text, "\n[cluster]\nk = 9\n"), "effective text lacks the override k = 9:\n%s", cfg->text);
  CHECK(strstr(cfg->text, "\ntol = 0.0025\n"), "effective text lacks tol = 0.0025:\n%s", cfg->text);
  (void)cwd;
  PetscCall(mc_config_destroy(&cfg));
  CHECK(cfg == NULL, "mc_config_destroy did not null the pointer");
  PetscFunctionReturn(0);
}

/* Only the required key: every other field holds its documented default. */
static PetscErrorCode test_defaults(const char *dir)
{
  char      path[PETSC_MAX_PATH_LEN];
  MCConfig *cfg;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/minimal.ini", dir));
  PetscCall(mc_config_load(PETSC_COMM_WORLD, path, 0, NULL, &cfg));
  PetscCall(check_str("model.path (absolute kept)", cfg->model_path, "/models/net.h5"));
  PetscCall(check_enum("model.format", "model", "format", cfg->model_format, "auto"));
  PetscCall(check_enum("model.layout", "model", "layout", cfg->model_layout, "auto"));
  PetscCall(check_str("model.input_shape", cfg->model_input_shape, ""));
  PetscCall(check_enum("model.infer", "model", "infer", cfg->model_infer, "none"));
  PetscCall(check_str("data.source", cfg->data_source, ""));
  PetscCall(check_enum("graph.kind", "graph", "kind", cfg->graph_kind, "weights"));
  PetscCall(check_enum("graph.conv_norm", "graph", "conv_norm", cfg->graph_conv_norm, "l1"));
  PetscCall(check_int("graph.fold_batchnorm", cfg->graph_fold_batchnorm, PETSC_TRUE));
  PetscCall(check_int("graph.include_dense_head", cfg->graph_include_dense_head, PETSC_FALSE));
  PetscCall(check_int("cluster.k", cfg->cluster_k, 16));
  PetscCall(check_int("cluster.n_init", cfg->cluster_n_init, 0));
  PetscCall(check_int("cluster.seed", cfg->cluster_seed, 42));
  PetscCall(check_int("cluster.max_iter", cfg->cluster_max_iter, 300));
  PetscCall(check_real("cluster.tol", cfg->cluster_tol, 1e-4));
  PetscCall(check_real("cluster.eig_tol", cfg->cluster_eig_tol, 1e-10));
  PetscCall(check_int("cluster.eig_max_it", cfg->cluster_eig_max_it, 0));
  PetscCall(check_int("importance.enabled", cfg->importance_enabled, PETSC_FALSE));
  PetscCall(check_int("importance.n_random", cfg->importance_n_random, 19));
  PetscCall(check_enum("importance.lesion", "importance", "lesion", cfg->importance_lesion, "outgoing"));
  PetscCall(check_int("coherence.enabled", cfg->coherence_enabled, PETSC_FALSE));
  PetscCall(check_int("coherence.n_random", cfg->coherence_n_random, 19));
  PetscCall(check_int("clusterability.n_shuffles", cfg->clusterability_n_shuffles, 0));
  PetscCall(check_enum("clusterability.shuffle", "clusterability", "shuffle", cfg->clusterability_shuffle, "layer"));
  PetscCall(check_int("clusterability.group_size", cfg->clusterability_group_size, 0));
  PetscCall(check_str("output.dir", cfg->output_dir, "modclust-out"));
  PetscCall(check_int("output.save_graph", cfg->output_save_graph, PETSC_FALSE));
  PetscCall(check_int("output.overwrite", cfg->output_overwrite, PETSC_FALSE));
  PetscCall(check_enum("output.file_locking", "output", "file_locking", cfg->output_file_locking, "auto"));
  PetscCall(check_int("n_layer_specs", cfg->n_layer_specs, 0));
  PetscCall(mc_config_destroy(&cfg));
  PetscFunctionReturn(0);
}

/* Layer sections: out of order, merged headers, a 300+ character line, overrides that add a layer. */
static PetscErrorCode test_layers(const char *dir)
{
  char        path[PETSC_MAX_PATH_LEN], name[301];
  const char *ov[] = {"layer.1.activation=tanh", "layer.2.type=dropout", "layer.2.rate=0.5"};
  MCConfig   *cfg;
  MCLayerSpec *L;

  PetscFunctionBeginUser;
  for (int i = 0; i < 300; ++i) name[i] = (char)('a' + i % 26);
  name[300] = '\0';
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/layers.ini", dir));
  PetscCall(mc_config_load(PETSC_COMM_WORLD, path, 3, ov, &cfg));
  PetscCall(check_int("n_layer_specs", cfg->n_layer_specs, 4));
  L = cfg->layer_specs;
  PetscCall(check_enum("layer.0.type", NULL, "type", (int)L[0].type, "dense"));
  PetscCall(check_str("layer.0.weight (300 characters)", L[0].weight, name));
  PetscCall(check_str("layer.0.bias", L[0].bias, "0.bias"));
  PetscCall(check_enum("layer.0.activation (merged header)", NULL, "activation", (int)L[0].activation, "linear"));
  PetscCall(check_int("layer.0.line", L[0].line, 11));
  PetscCall(check_enum("layer.1.type", NULL, "type", (int)L[1].type, "activation"));
  PetscCall(check_enum("layer.1.activation (override)", NULL, "activation", (int)L[1].activation, "tanh"));
  PetscCall(check_int("layer.1.line", L[1].line, 7));
  PetscCall(check_enum("layer.1.padding (default)", NULL, "padding", (int)L[1].padding, "valid"));
  PetscCall(check_str("layer.1.pool (default)", L[1].pool, "2,2"));
  PetscCall(check_real("layer.1.alpha (default)", L[1].alpha, 0.01));
  PetscCall(check_enum("layer.2.type (command line)", NULL, "type", (int)L[2].type, "dropout"));
  PetscCall(check_real("layer.2.rate", L[2].rate, 0.5));
  PetscCall(check_int("layer.2.line", L[2].line, 0));
  PetscCall(check_enum("layer.3.type", NULL, "type", (int)L[3].type, "dense"));
  PetscCall(check_str("layer.3.weight", L[3].weight, "2.weight"));
  PetscCall(check_real("layer.3.eps (default)", L[3].eps, 0));
  PetscCall(check_str("model.input_shape", cfg->model_input_shape, "784"));
  CHECK(strstr(cfg->text, "\n[layer.2]\ntype = dropout\n"), "effective text lacks [layer.2]:\n%s", cfg->text);
  PetscCall(mc_config_destroy(&cfg));
  PetscFunctionReturn(0);
}

/* The example of docs/config.md. */
static PetscErrorCode test_example(const char *dir)
{
  char      path[PETSC_MAX_PATH_LEN], want[PETSC_MAX_PATH_LEN];
  MCConfig *cfg;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/example.ini", dir));
  PetscCall(mc_config_load(PETSC_COMM_WORLD, path, 0, NULL, &cfg));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/mlp.safetensors", dir));
  PetscCall(check_str("model.path", cfg->model_path, want));
  PetscCall(check_int("cluster.k", cfg->cluster_k, 8));
  PetscCall(check_int("cluster.seed", cfg->cluster_seed, 7));
  PetscCall(check_int("n_layer_specs", cfg->n_layer_specs, 2));
  PetscCall(check_str("layer.1.weight", cfg->layer_specs[1].weight, "2.weight"));
  PetscCall(mc_config_destroy(&cfg));
  PetscFunctionReturn(0);
}

/* In memory: CRLF, a byte-order mark, comment forms, relative names, overrides relative to the working
   directory, and the effective text parsing back to the same configuration. */
static PetscErrorCode test_text(const char *cwd)
{
  const char  text[] = "\xEF\xBB\xBF; comment\r\n[model]\r\npath = ./sub/net.h5 # comment\r\n\r\n[data]\r\nsource = a;b # c\r\n"
                       "[output]\r\ndir = x\t; tab before the comment\r\n[layer.0]\r\ntype = flatten\r\n";
  const char *ov[] = {"data.source=ds/mnist"};
  char        want[PETSC_MAX_PATH_LEN];
  MCConfig   *cfg, *again;

  PetscFunctionBeginUser;
  PetscCall(mc_config_parse(PETSC_COMM_WORLD, "conf/run.ini", text, 0, NULL, &cfg));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/conf", cwd));
  PetscCall(check_str("dir of a relative name", cfg->dir, want));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/conf/sub/net.h5", cwd));
  PetscCall(check_str("model.path (CRLF, BOM, ./)", cfg->model_path, want));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/conf/a;b", cwd));
  PetscCall(check_str("data.source (';' inside a value kept)", cfg->data_source, want));
  PetscCall(check_str("output.dir (tab before ';')", cfg->output_dir, "x"));
  PetscCall(check_enum("layer.0.type", NULL, "type", (int)cfg->layer_specs[0].type, "flatten"));

  /* The effective text is complete: it parses back to the same values under another name. */
  PetscCall(mc_config_parse(PETSC_COMM_WORLD, "/elsewhere/copy.ini", cfg->text, 0, NULL, &again));
  CHECK(!strcmp(strchr(cfg->text, '\n'), strchr(again->text, '\n')), "effective text does not round-trip:\n%s\n---\n%s", cfg->text, again->text);
  for (PetscInt i = 0; i < mc__config_n_keys; ++i) {
    const MCKeyInfo *k = &mc__config_keys[i];

    CHECK(!memcmp((char *)cfg + k->offset, (char *)again + k->offset, (k->type == MC_CONFIG_STRING || k->type == MC_CONFIG_PATH) ? strlen((char *)cfg + k->offset) + 1 : k->size),
          "[%s] %s differs after the round trip", k->section, k->key);
  }
  PetscCall(check_int("round trip n_layer_specs", again->n_layer_specs, 1));
  PetscCall(mc_config_destroy(&again));
  PetscCall(mc_config_destroy(&cfg));

  /* An override's relative path is relative to the working directory, not to the file. */
  PetscCall(mc_config_parse(PETSC_COMM_WORLD, "conf/run.ini", text, 1, ov, &cfg));
  PetscCall(PetscSNPrintf(want, sizeof(want), "%s/ds/mnist", cwd));
  PetscCall(check_str("data.source from the command line", cfg->data_source, want));
  PetscCall(mc_config_destroy(&cfg));
  PetscCall(mc_config_destroy(&cfg)); /* NULL: no-op */
  PetscFunctionReturn(0);
}

/* The schema itself: sections listed, enum choices not empty, every section has keys. */
static PetscErrorCode test_schema(void)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < mc__config_n_keys; ++i) {
    PetscBool found = PETSC_FALSE;

    for (PetscInt s = 0; s < mc__config_n_sections; ++s) found = found || !strcmp(mc__config_sections[s].section, mc__config_keys[i].section);
    CHECK(found, "key %s.%s: section missing from the MC_SECTION list", mc__config_keys[i].section, mc__config_keys[i].key);
  }
  for (PetscInt s = 0; s < mc__config_n_sections; ++s) {
    PetscBool found = PETSC_FALSE;

    for (PetscInt i = 0; i < mc__config_n_keys; ++i) found = found || !strcmp(mc__config_sections[s].section, mc__config_keys[i].section);
    CHECK(found, "section [%s] has no keys", mc__config_sections[s].section);
  }
  for (int layer = 0; layer < 2; ++layer) {
    const MCKeyInfo *keys = layer ? mc__config_layer_keys : mc__config_keys;
    PetscInt         n    = layer ? mc__config_n_layer_keys : mc__config_n_keys;

    for (PetscInt i = 0; i < n; ++i) {
      if (keys[i].type != MC_CONFIG_ENUM) continue;
      for (const char *c = keys[i].choices; *c;) {
        size_t len = strcspn(c, "|");

        CHECK(len > 0, "enum %s: empty choice", keys[i].key);
        c += len + (c[len] == '|');
      }
    }
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char cwd[PETSC_MAX_PATH_LEN];

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCheck(argc >= 2 && argv[1][0] != '-', PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "usage: test_config_parse GOOD_DIR");
  PetscCheck(getcwd(cwd, sizeof(cwd)), PETSC_COMM_SELF, PETSC_ERR_SYS, "getcwd failed");
  PetscCall(test_schema());
  PetscCall(test_full(argv[1], cwd));
  PetscCall(test_defaults(argv[1]));
  PetscCall(test_layers(argv[1]));
  PetscCall(test_example(argv[1]));
  PetscCall(test_text(cwd));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "test_config_parse: all checks passed\n"));
  PetscCall(PetscFinalize());
  return 0;
}
