/* tests/nn/nn_testutil.c: see nn_testutil.h. */
#include <math.h>
#include <string.h>
#include "nn_testutil.h"

static PetscErrorCode fill(const float *w, PetscInt n_w, PetscInt *pos, MCRng *r, PetscInt n, double lo, double hi, float **dst)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, dst));
  if (w) {
    PetscCheck(*pos + n <= n_w, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Weight file too short: need %" PetscInt_FMT " floats, have %" PetscInt_FMT ".", *pos + n, n_w);
    memcpy(*dst, w + *pos, (size_t)n * sizeof(float));
  } else
    for (PetscInt j = 0; j < n; ++j) (*dst)[j] = (float)(lo + (hi - lo) * mc_rng_uniform(r));
  *pos += n;
  PetscFunctionReturn(0);
}

static MCPadding parse_pad(const char *s)
{
  return strcmp(s, "same") == 0 ? MC_PAD_SAME : MC_PAD_VALID;
}

PetscErrorCode nn_test_build(const char *spec, const float *weights, PetscInt n_weights, uint64_t seed, MCModel **out)
{
  char     buf[4096], *save = NULL, *line;
  PetscInt in[3] = {1, 1, 1}, n_layers = 0, pos = 0;
  MCModel *m;
  MCRng    r;

  PetscFunctionBeginUser;
  mc_rng_init(&r, seed, MC_STREAM_INIT, 0);
  PetscCall(PetscStrncpy(buf, spec, sizeof(buf)));
  for (line = strtok_r(buf, ";\n", &save); line; line = strtok_r(NULL, ";\n", &save))
    if (strncmp(line, "input", 5) && line[strspn(line, " ")]) n_layers++;
  PetscCall(PetscStrncpy(buf, spec, sizeof(buf)));
  line = strtok_r(buf, ";\n", &save);
  PetscCheck(sscanf(line, " input %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT, &in[0], &in[1], &in[2]) == 3, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Spec must start with 'input H W C'.");
  PetscCall(mc_model_create(n_layers, in, &m));
  PetscCall(PetscStrncpy(m->format, "synthetic", sizeof(m->format)));
  {
    PetscInt c = in[0] * in[1] * in[2], ch = in[2], h = in[0], w = in[1];
    for (PetscInt i = 0; i < n_layers; ++i) {
      MCLayer *L = &m->layers[i];
      char     t[32] = "", a[32] = "linear", p[16] = "valid";
      double   x = 0;
      line       = strtok_r(NULL, ";\n", &save);
      while (line && !line[strspn(line, " ")]) line = strtok_r(NULL, ";\n", &save);
      PetscCheck(line, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Spec ended early.");
      sscanf(line, " %31s", t);
      PetscCall(PetscSNPrintf(L->name, sizeof(L->name), "%s_%" PetscInt_FMT, t, i));
      L->alpha = 0.1f;
      if (!strcmp(t, "dense")) {
        L->type = MC_LAYER_DENSE;
        sscanf(line, " %*s %" PetscInt_FMT " %31s", &L->n_out, a);
        PetscCheck(mc_model_activation_parse(a, &L->act), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Bad activation %s.", a);
        L->n_in = h * w * ch;
        {
          double lim = sqrt(6.0 / (double)(L->n_in + L->n_out));
          PetscCall(fill(weights, n_weights, &pos, &r, L->n_in * L->n_out, -lim, lim, &L->weight));
          PetscCall(fill(weights, n_weights, &pos, &r, L->n_out, -0.1, 0.1, &L->bias));
        }
        h = w = 1, ch = L->n_out;
      } else if (!strcmp(t, "conv2d") || !strcmp(t, "maxpool2d") || !strcmp(t, "avgpool2d")) {
        L->type = !strcmp(t, "conv2d") ? MC_LAYER_CONV2D : !strcmp(t, "maxpool2d") ? MC_LAYER_MAXPOOL2D : MC_LAYER_AVGPOOL2D;
        if (L->type == MC_LAYER_CONV2D) {
          sscanf(line, " %*s %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT " %15s %" PetscInt_FMT " %31s", &L->kh, &L->kw, &L->stride_h, &L->stride_w, p, &L->n_out, a);
          PetscCheck(mc_model_activation_parse(a, &L->act), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Bad activation %s.", a);
          L->n_in = ch;
          {
            double lim = sqrt(6.0 / (double)(L->kh * L->kw * (ch + L->n_out)));
            PetscCall(fill(weights, n_weights, &pos, &r, L->kh * L->kw * ch * L->n_out, -lim, lim, &L->weight));
            PetscCall(fill(weights, n_weights, &pos, &r, L->n_out, -0.1, 0.1, &L->bias));
          }
        } else sscanf(line, " %*s %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT " %" PetscInt_FMT " %15s", &L->kh, &L->kw, &L->stride_h, &L->stride_w, p);
        L->padding = parse_pad(p);
        if (L->padding == MC_PAD_SAME) h = (h + L->stride_h - 1) / L->stride_h, w = (w + L->stride_w - 1) / L->stride_w;
        else h = (h - L->kh) / L->stride_h + 1, w = (w - L->kw) / L->stride_w + 1;
        if (L->type == MC_LAYER_CONV2D) ch = L->n_out;
      } else if (!strcmp(t, "flatten")) {
        L->type = MC_LAYER_FLATTEN;
        ch = h * w * ch, h = w = 1;
      } else if (!strcmp(t, "softmax")) {
        L->type = MC_LAYER_SOFTMAX;
      } else if (!strcmp(t, "dropout")) {
        L->type = MC_LAYER_DROPOUT;
        sscanf(line, " %*s %lf", &x);
        L->rate = (float)x;
      } else if (!strcmp(t, "activation")) {
        L->type = MC_LAYER_ACTIVATION;
        sscanf(line, " %*s %31s", a);
        PetscCheck(mc_model_activation_parse(a, &L->act), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Bad activation %s.", a);
      } else if (!strcmp(t, "batchnorm")) {
        L->type = MC_LAYER_BATCHNORM;
        sscanf(line, " %*s %lf", &x);
        L->eps   = (float)x;
        L->n_out = ch;
        PetscCall(fill(weights, n_weights, &pos, &r, ch, 0.5, 1.5, &L->gamma));
        PetscCall(fill(weights, n_weights, &pos, &r, ch, -0.5, 0.5, &L->beta));
        PetscCall(fill(weights, n_weights, &pos, &r, ch, -0.5, 0.5, &L->moving_mean));
        PetscCall(fill(weights, n_weights, &pos, &r, ch, 0.5, 1.5, &L->moving_var));
      } else SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Unknown spec layer '%s'.", t);
      (void)c;
    }
  }
  PetscCheck(!weights || pos == n_weights, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Weight file has %" PetscInt_FMT " floats, the spec uses %" PetscInt_FMT ".", n_weights, pos);
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  *out = m;
  PetscFunctionReturn(0);
}
