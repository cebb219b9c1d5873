// The registerer of the tflite-micro Python wheel: its Interpreter, given
// custom_op_registerers=["TFC_RegisterOps"], finds this function with dlsym(RTLD_DEFAULT, ...) in
// a library loaded with RTLD_GLOBAL and calls it with its PythonOpsResolver; false fails the
// interpreter's construction (python/tflite_micro/interpreter_wrapper.cc). Host builds only.
#include "python/tflite_micro/python_ops_resolver.h"
#include "tfc_tflm_ops.h"

extern "C" __attribute__((visibility("default"))) bool TFC_RegisterOps(tflite::PythonOpsResolver* resolver) {
  return resolver != nullptr && tfc_add_ops(*resolver) == kTfLiteOk;
}
