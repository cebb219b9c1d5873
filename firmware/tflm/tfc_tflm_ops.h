/*
 * tfcompress's TFC_ custom ops (docs/ops.md) for TensorFlow Lite Micro: one TFLMRegistration
 * per op, each running its C99 kernel of firmware/kernels, and tfc_add_ops to add them all to
 * a MicroMutableOpResolver by their custom codes. A new op is its registration in a family's
 * file (or a tfc_<op>.cc), one declaration and one AddCustom line here, and kTfcOpCount one
 * more. Building and testing it by hand: firmware/tflm/README.md.
 */
#ifndef TFC_TFLM_OPS_H
#define TFC_TFLM_OPS_H

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/micro_common.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

// tfc_embedding_bag.cc, tfc_sparse_gather.cc, tfc_sparse_fully_connected.cc
TFLMRegistration* Register_TFC_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_SPARSE_GATHER();
TFLMRegistration* Register_TFC_SPARSE_FULLY_CONNECTED();
// tfc_structured_fully_connected.cc
TFLMRegistration* Register_TFC_LMF_FULLY_CONNECTED();
TFLMRegistration* Register_TFC_HMF_FULLY_CONNECTED();
TFLMRegistration* Register_TFC_KP_FULLY_CONNECTED();
TFLMRegistration* Register_TFC_DKP_FULLY_CONNECTED();
// tfc_structured_embedding_bag.cc
TFLMRegistration* Register_TFC_LMF_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_HMF_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_KP_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_DKP_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_SPARSE_EMBEDDING_BAG();
TFLMRegistration* Register_TFC_LMF_GATHER();
TFLMRegistration* Register_TFC_HMF_GATHER();
TFLMRegistration* Register_TFC_KP_GATHER();
TFLMRegistration* Register_TFC_DKP_GATHER();
// tfc_recurrent.cc
TFLMRegistration* Register_TFC_LSTM();
TFLMRegistration* Register_TFC_GRU();

// How many ops tfc_add_ops adds: the resolver needs room for them among its N, besides the
// builtin ops the model uses (MicroMutableOpResolver<kTfcOpCount + builtins>).
constexpr unsigned int kTfcOpCount = 18;

// Adds every TFC_ op by its custom code; the resolver needs room for them among its N.
template <unsigned int N>
TfLiteStatus tfc_add_ops(tflite::MicroMutableOpResolver<N>& resolver) {
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_EMBEDDING_BAG", Register_TFC_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_SPARSE_GATHER", Register_TFC_SPARSE_GATHER()));
  TF_LITE_ENSURE_STATUS(
      resolver.AddCustom("TFC_SPARSE_FULLY_CONNECTED", Register_TFC_SPARSE_FULLY_CONNECTED()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_LMF_FULLY_CONNECTED", Register_TFC_LMF_FULLY_CONNECTED()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_HMF_FULLY_CONNECTED", Register_TFC_HMF_FULLY_CONNECTED()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_KP_FULLY_CONNECTED", Register_TFC_KP_FULLY_CONNECTED()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_DKP_FULLY_CONNECTED", Register_TFC_DKP_FULLY_CONNECTED()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_LMF_EMBEDDING_BAG", Register_TFC_LMF_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_HMF_EMBEDDING_BAG", Register_TFC_HMF_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_KP_EMBEDDING_BAG", Register_TFC_KP_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_DKP_EMBEDDING_BAG", Register_TFC_DKP_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_SPARSE_EMBEDDING_BAG", Register_TFC_SPARSE_EMBEDDING_BAG()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_LMF_GATHER", Register_TFC_LMF_GATHER()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_HMF_GATHER", Register_TFC_HMF_GATHER()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_KP_GATHER", Register_TFC_KP_GATHER()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_DKP_GATHER", Register_TFC_DKP_GATHER()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_LSTM", Register_TFC_LSTM()));
  TF_LITE_ENSURE_STATUS(resolver.AddCustom("TFC_GRU", Register_TFC_GRU()));
  return kTfLiteOk;
}

#endif  // TFC_TFLM_OPS_H
