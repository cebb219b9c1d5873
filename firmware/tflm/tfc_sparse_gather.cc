// TFC_SPARSE_GATHER (docs/ops.md) for TFLM: ids int32 (any shape), a constant packed sparse int8
// table [rows, cols] -> int8 [*ids, cols], GATHER along axis 0 by tfc_sparse_gather_s8.
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr char kOp[] = "TFC_SPARSE_GATHER";
constexpr int64_t kVersion = 1;

struct OpData {
  tfc_sparse_matrix table;  // its data pointer set at Eval
  int32_t count;            // ids
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  tfc_tflm::OptionField options[] = {{"rows", 0}, {"cols", 0}, {"nnz", 0}, {"background", 0}};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(kOp, node, kVersion, options, 4));
  const int64_t rows = options[0].value, cols = options[1].value, nnz = options[2].value;
  const tfc_tflm::PrepareTensors tensors(context, node);
  const TfLiteTensor* ids = tensors.input(0);
  if (tensors.inputs() != 2 || ids == nullptr || ids->type != kTfLiteInt32) {
    return Refuse("%s: expects int32 ids and the packed table", kOp);
  }
  const TfLiteTensor* output = tensors.output(0);
  bool shaped = output != nullptr && output->type == kTfLiteInt8 &&
                tfc_tflm::Rank(output) == tfc_tflm::Rank(ids) + 1 &&
                output->dims->data[tfc_tflm::Rank(ids)] == cols;
  for (int i = 0; shaped && i < tfc_tflm::Rank(ids); ++i) {
    shaped = output->dims->data[i] == ids->dims->data[i];
  }
  if (!shaped) {
    return Refuse("%s: output must be int8 [*ids.shape, %lld]", kOp, static_cast<long long>(cols));
  }
  auto* data = static_cast<OpData*>(node->user_data);
  TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareSparseMatrix(kOp, tensors.input(1), rows, cols, nnz,
                                                      options[3].value, &data->table));
  data->count = static_cast<int32_t>(tfc_tflm::NumElements(ids));
  return kTfLiteOk;
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const auto* data = static_cast<const OpData*>(node->user_data);
  const TfLiteEvalTensor* ids = tflite::micro::GetEvalInput(context, node, 0);
  tfc_sparse_matrix table = data->table;
  table.data = tflite::micro::GetTensorData<uint8_t>(tflite::micro::GetEvalInput(context, node, 1));
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
  return tfc_tflm::KernelStatus(
      kOp, tfc_sparse_gather_s8(&table, tflite::micro::GetTensorData<int32_t>(ids), data->count,
                                tflite::micro::GetTensorData<int8_t>(output)));
}

}  // namespace

TFLMRegistration* Register_TFC_SPARSE_GATHER() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, Prepare, Eval);
  return &registration;
}
