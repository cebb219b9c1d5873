// TFC_SPARSE_FULLY_CONNECTED (docs/ops.md) for TFLM: x int8 [..., rows] times a constant packed
// sparse int8 matrix [rows, cols] (Keras layout), an optional int32 bias and per-channel (or one)
// float32 weight scales -> int8 [..., cols], by tfc_sparse_fully_connected_s8.
#include <algorithm>
#include <cmath>

#include "tensorflow/lite/kernels/kernel_util.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr char kOp[] = "TFC_SPARSE_FULLY_CONNECTED";
constexpr int64_t kVersion = 1;

struct OpData {
  tfc_fc_params params;
  tfc_fc_dims dims;
  tfc_sparse_matrix weights;          // its data pointer set at Eval
  tfc_quant_multiplier* multipliers;  // one per output channel, in the persistent arena
  int scratch_index;
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  tfc_tflm::OptionField options[] = {{"rows", 0}, {"cols", 0}, {"nnz", 0}, {"fused_activation", 0}};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(kOp, node, kVersion, options, 4));
  const int64_t rows = options[0].value, cols = options[1].value, nnz = options[2].value;
  const int64_t activation = options[3].value;
  const tfc_tflm::PrepareTensors tensors(context, node);
  const TfLiteTensor* x = tensors.input(0);
  const TfLiteTensor* bias = tensors.input(2);
  const TfLiteTensor* scales = tensors.input(3);
  TfLiteTensor* output = tensors.output(0);
  if (tensors.inputs() != 4 || x == nullptr || scales == nullptr) {
    return Refuse("%s: expects x, the packed weights, the bias (or none) and the weight scales", kOp);
  }
  if (output == nullptr || x->type != kTfLiteInt8 || output->type != kTfLiteInt8 ||
      tfc_tflm::Rank(x) < 1 || x->dims->data[tfc_tflm::Rank(x) - 1] != rows) {
    return Refuse("%s: x must be int8 [..., %lld] and the output int8", kOp, static_cast<long long>(rows));
  }
  const int64_t num_scales = tfc_tflm::NumElements(scales);
  if (scales->type != kTfLiteFloat32 || !tfc_tflm::IsConstant(scales) ||
      (num_scales != 1 && num_scales != cols)) {
    return Refuse("%s: input 3 (weight scales) must hold 1 or %lld float32 values", kOp,
                  static_cast<long long>(cols));
  }
  const float* channel_scales = scales->data.f;
  if (!std::all_of(channel_scales, channel_scales + num_scales, [](float s) { return std::isfinite(s); })) {
    return Refuse("%s: input 3 (weight scales) must be finite", kOp);
  }
  if (bias != nullptr && (bias->type != kTfLiteInt32 || !tfc_tflm::IsConstant(bias) ||
                          tfc_tflm::NumElements(bias) != cols)) {
    return Refuse("%s: input 2 (bias) must be %lld constant int32 values", kOp, static_cast<long long>(cols));
  }
  auto* data = static_cast<OpData*>(node->user_data);
  TF_LITE_ENSURE_STATUS(
      tfc_tflm::PrepareSparseMatrix(kOp, tensors.input(1), rows, cols, nnz, 0, &data->weights));
  if (activation < kTfLiteActNone || activation > kTfLiteActRelu6) {  // NONE, RELU, RELU_N1_TO_1, RELU6
    return Refuse("%s: fusedActivationFunction %lld is not supported", kOp, static_cast<long long>(activation));
  }
  const int64_t batches = tfc_tflm::NumElements(x) / rows;
  if (batches < 1 || tfc_tflm::NumElements(output) != batches * cols) {
    return Refuse("%s: x must hold at least one row and the output %lld x %lld values", kOp,
                  static_cast<long long>(batches), static_cast<long long>(cols));
  }
  if (!tfc_tflm::HasScale(x) || !tfc_tflm::HasScale(output)) {
    return Refuse("%s: x and the output must have positive, finite scales", kOp);
  }

  data->params.input_offset = -x->params.zero_point;
  data->params.output_offset = output->params.zero_point;
  TF_LITE_ENSURE_STATUS(tflite::CalculateActivationRangeQuantized(
      context, static_cast<TfLiteFusedActivation>(activation), output, &data->params.activation.min,
      &data->params.activation.max));
  data->dims = {static_cast<int32_t>(batches), static_cast<int32_t>(rows), static_cast<int32_t>(cols)};
  data->multipliers = static_cast<tfc_quant_multiplier*>(
      context->AllocatePersistentBuffer(context, cols * sizeof(tfc_quant_multiplier)));
  TF_LITE_ENSURE(context, data->multipliers != nullptr);
  for (int64_t c = 0; c < cols; ++c) {  // (s_x * s_w[c]) / s_o in double, as the reference
    const float scale = channel_scales[num_scales == 1 ? 0 : c];
    data->multipliers[c] = tfc_tflm::Multiplier(static_cast<double>(x->params.scale) *
                                                static_cast<double>(scale) /
                                                static_cast<double>(output->params.scale));
  }
  return context->RequestScratchBufferInArena(
      context, tfc_sparse_fully_connected_s8_get_buffer_size(&data->dims), &data->scratch_index);
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const auto* data = static_cast<const OpData*>(node->user_data);
  const TfLiteEvalTensor* x = tflite::micro::GetEvalInput(context, node, 0);
  tfc_sparse_matrix weights = data->weights;
  weights.data = tflite::micro::GetTensorData<uint8_t>(tflite::micro::GetEvalInput(context, node, 1));
  const TfLiteEvalTensor* bias = tflite::micro::GetEvalInput(context, node, 2);  // nullptr if none
  TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
  auto* scratch = static_cast<int32_t*>(context->GetScratchBuffer(context, data->scratch_index));
  return tfc_tflm::KernelStatus(
      kOp, tfc_sparse_fully_connected_s8(&data->params, data->multipliers, &data->dims,
                                         tflite::micro::GetTensorData<int8_t>(x), &weights,
                                         tflite::micro::GetOptionalTensorData<int32_t>(bias), scratch,
                                         tflite::micro::GetTensorData<int8_t>(output)));
}

}  // namespace

TFLMRegistration* Register_TFC_SPARSE_FULLY_CONNECTED() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, Prepare, Eval);
  return &registration;
}
