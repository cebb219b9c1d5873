/*
 * tfcompress's TFC_ custom ops (docs/ops.md) for TensorFlow Lite Micro: one TFLMRegistration
 * per op, each running its C99 kernel of firmware/kernels, and tfc_add_ops to add them all to
 * a MicroMutableOpResolver by their custom codes. A new op is one tfc_<op>.cc, one declaration
 * and one AddCustom line here. Building and testing it by hand: firmware/tflm/README.md.
 */
#ifndef TFC_TFLM_OPS_H
#define TFC_TFLM_OPS_H

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_common.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

TFLMRegistration* Register_TFC_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_SPARSE_GATHER();
TFLMRegistration* Register_TFC_SPARSE_FULLY_CONNECTED();

// Adds every TFC_ op by its custom code; the resolver needs room for them among its N.
template <unsigned int N>
TfLiteStatus tfc_add_ops(tflite::MicroMutableOpResolver<N>& resolver) {
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_EMBEDDING_BAG", Register_TFC_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_SPARSE_GATHER", Register_TFC_SPARSE_GATHER()));
  TF_LITE_ENSURE_STATUS(
      resolver.AddCustom("TFC_SPARSE_FULLY_CONNECTED", Register_TFC_SPARSE_FULLY_CONNECTED()));
  return kTfLiteOk;
}

#endif  // TFC_TFLM_OPS_H
