// TFC_EMBEDDING_BAG (docs/ops.md) for TFLM: ids int32 [1, T], a constant int8 table [V, D]
// -> int8 [1, D], the mean of the ids' rows with padding skipped, by tfc_embedding_bag_s8.
#include <algorithm>

#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr char kOp[] = "TFC_EMBEDDING_BAG";
constexpr int64_t kVersion = 1;

struct OpData {
  tfc_embedding_bag_params params;
  tfc_embedding_bag_dims dims;
  int scratch_index;
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  tfc_tflm::OptionField pad_id = {"pad_id", 0};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(kOp, node, kVersion, &pad_id, 1));
  const tfc_tflm::PrepareTensors tensors(context, node);
  if (tensors.inputs() != 2 || tensors.outputs() != 1) {
    return Refuse("%s: expects 2 inputs and 1 output, got %d and %d", kOp, tensors.inputs(),
                  tensors.outputs());
  }
  const TfLiteTensor* ids = tensors.input(0);
  const TfLiteTensor* table = tensors.input(1);
  TfLiteTensor* output = tensors.output(0);
  if (ids == nullptr || ids->type != kTfLiteInt32 || tfc_tflm::Rank(ids) != 2 ||
      ids->dims->data[0] != 1 || ids->dims->data[1] < 1) {
    return Refuse("%s: input 0 (ids) must be int32 [1, T]", kOp);
  }
  if (table == nullptr || table->type != kTfLiteInt8 || !tfc_tflm::IsConstant(table) ||
      tfc_tflm::Rank(table) != 2 || tfc_tflm::NumScales(table) != 1 || tfc_tflm::NumElements(table) < 1) {
    return Refuse("%s: input 1 (table) must be a constant int8 [V, D] matrix with one scale", kOp);
  }
  const int32_t vocab = table->dims->data[0];
  const int32_t depth = table->dims->data[1];
  if (output == nullptr || output->type != kTfLiteInt8 || tfc_tflm::Rank(output) != 2 ||
      output->dims->data[0] != 1 || output->dims->data[1] != depth) {
    return Refuse("%s: output must be int8 [1, %d]", kOp, static_cast<int>(depth));
  }
  if (!tfc_tflm::HasScale(table) || !tfc_tflm::HasScale(output)) {
    return Refuse("%s: the table and the output must have positive, finite scales", kOp);
  }
  const int32_t table_zero = table->params.zero_point;
  const bool pads = pad_id.value >= 0 && pad_id.value < vocab;  // else no id is padding
  if (pads) {
    const int8_t* row = table->data.int8 + pad_id.value * depth;
    if (std::any_of(row, row + depth, [table_zero](int8_t v) { return v != table_zero; })) {
      return Refuse("%s: table row pad_id=%d must hold the zero point %d", kOp,
                    static_cast<int>(pad_id.value), static_cast<int>(table_zero));
    }
  }

  auto* data = static_cast<OpData*>(node->user_data);
  const int32_t tokens = ids->dims->data[1];
  const tfc_quant_multiplier m = tfc_tflm::Multiplier(static_cast<double>(table->params.scale) /
                                                      static_cast<double>(output->params.scale));
  // The mean's 1/T folded in as TFLM's MEAN does: k = min(floor(log2 T), 32, 31 + shift).
  int k = 0;
  while ((int64_t{2} << k) <= tokens) {
    ++k;
  }
  k = std::min({k, 32, 31 + static_cast<int>(m.shift)});  // int32_t is long on arm-none-eabi
  data->params.table_zero_point = table_zero;
  data->params.output_zero_point = output->params.zero_point;
  data->params.pad_id = pads ? static_cast<int32_t>(pad_id.value) : -1;
  data->params.multiplier = {static_cast<int32_t>((int64_t{m.multiplier} << k) / tokens), m.shift - k};
  data->dims = {vocab, depth, tokens};
  return context->RequestScratchBufferInArena(
      context, tfc_embedding_bag_s8_get_buffer_size(&data->dims), &data->scratch_index);
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const auto* data = static_cast<const OpData*>(node->user_data);
  const TfLiteEvalTensor* ids = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* table = tflite::micro::GetEvalInput(context, node, 1);
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
  auto* scratch = static_cast<int32_t*>(context->GetScratchBuffer(context, data->scratch_index));
  return tfc_tflm::KernelStatus(
      kOp, tfc_embedding_bag_s8(&data->params, &data->dims, tflite::micro::GetTensorData<int32_t>(ids),
                                tflite::micro::GetTensorData<int8_t>(table), scratch,
                                tflite::micro::GetTensorData<int8_t>(output)));
}

}  // namespace

TFLMRegistration* Register_TFC_EMBEDDING_BAG() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, Prepare, Eval);
  return &registration;
}
