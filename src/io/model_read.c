/* src/io/model_read.c: model format detection, rank-0 read and broadcast. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "io/io_impl.h"
#include "mc/sys.h"

/* Decide the format from the content: HDF5 signature -> native (root attribute format) or Keras
   (model_config or layer_names); u64 little-endian length + '{' -> safetensors. */
static PetscErrorCode detect_format(const char *path, MCModelFormat *fmt)
{
  PetscBool     is_h5 = PETSC_FALSE;
  unsigned char buf[9];
  FILE         *fp;
  size_t        got;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_is_hdf5(path, &is_h5));
  if (is_h5) {
    hid_t     file;
    PetscBool has = PETSC_FALSE;

    PetscCall(mc__io_h5_open_read(path, PETSC_FALSE, &file));
    PetscCall(mc__io_h5_attr_exists(file, "format", &has));
    if (has) {
      *fmt = MC_MODEL_FORMAT_NATIVE;
    } else {
      PetscBool cfg = PETSC_FALSE, names = PETSC_FALSE, names0 = PETSC_FALSE, mw = PETSC_FALSE;

      PetscCall(mc__io_h5_attr_exists(file, "model_config", &cfg));
      PetscCall(mc__io_h5_attr_exists(file, "layer_names", &names));
      PetscCall(mc__io_h5_attr_exists(file, "layer_names0", &names0));
      PetscCall(mc__io_h5_exists(file, "model_weights", &mw));
      PetscCheck(cfg || names || names0 || mw, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s is an HDF5 file but neither a modclust model (root attribute format) nor a Keras model (root attribute model_config or layer_names)", path);
      *fmt = MC_MODEL_FORMAT_KERAS;
    }
    MCCallHDF5(H5Fclose(file), path, "the file");
    PetscFunctionReturn(0);
  }
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open model file %s", path);
  got = fread(buf, 1, sizeof(buf), fp);
  fclose(fp);
  if (got == sizeof(buf) && buf[8] == '{') {
    *fmt = MC_MODEL_FORMAT_SAFETENSORS;
    PetscFunctionReturn(0);
  }
  /* ONNX has no signature: a ModelProto begins with field 1 (ir_version, varint: byte 0x08) in practice,
     and the name says .onnx. */
  {
    size_t len = strlen(path);

    PetscCheck(got >= 2 && (buf[0] == 0x08 || (len > 5 && !strcmp(path + len - 5, ".onnx"))), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s is not a model file this tool reads (expected Keras .h5, ONNX, safetensors or a modclust HDF5 model)", path);
  }
  *fmt = MC_MODEL_FORMAT_ONNX;
  PetscFunctionReturn(0);
}

static PetscErrorCode read_on_rank0(const MCModelReadOpts *opts, double budget, MCModel **out)
{
  const char   *path = opts->path;
  struct stat   st;
  MCModelFormat fmt = opts->format;

  PetscFunctionBeginUser;
  PetscCheck(path[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "no model given: set model.path in the [model] section or on the command line (model.path=FILE)");
  PetscCheck(stat(path, &st) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "model file %s does not exist (model.path)", path);
  PetscCheck(S_ISREG(st.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "model path %s is not a regular file (model.path)", path);
  if (fmt == MC_MODEL_FORMAT_AUTO) PetscCall(detect_format(path, &fmt));
  switch (fmt) {
  case MC_MODEL_FORMAT_AUTO:
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_PLIB, "model format of %s left undecided", path);
  case MC_MODEL_FORMAT_NATIVE:
    PetscCall(mc__io_model_read_native(path, budget, out));
    break;
  case MC_MODEL_FORMAT_KERAS:
    PetscCall(mc__io_model_read_keras(path, budget, out));
    break;
  case MC_MODEL_FORMAT_SAFETENSORS:
    PetscCall(mc__io_model_read_safetensors(opts, path, budget, out));
    break;
  case MC_MODEL_FORMAT_ONNX:
    PetscCall(mc__io_model_read_onnx(path, budget, out));
    break;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_model_read(MPI_Comm comm, const MCModelReadOpts *opts, MCModel **out)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  MCModel       *m    = NULL;
  double         budget;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(mc_sys_memory_per_rank(comm, &budget)); /* every rank will hold the model */
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_MODEL_READ], 0, 0, 0, 0));
  if (rank == 0) {
    MCIOGuard guard;

    PetscCall(mc__io_guard_push(opts->path, &guard));
    ierr = read_on_rank0(opts, budget, &m);
    PetscCall(mc__io_guard_pop(&guard));
  }
  if (ierr) mc__io_h5_close_path(opts->path);
  /* End the event before a failure can leave it open. */
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_MODEL_READ], 0, 0, 0, 0));
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(mc_model_bcast(comm, &m));
  *out = m;
  PetscFunctionReturn(0);
}
