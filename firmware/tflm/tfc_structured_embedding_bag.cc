// The lookups of a structured embedding table (docs/ops.md) for TFLM, one family:
// TFC_{LMF,HMF,KP,DKP,SPARSE}_EMBEDDING_BAG, ids int32 [1, T] -> int8 [1, D], the mean of the
// ids' rows with padding skipped, and TFC_{LMF,HMF,KP,DKP}_GATHER, ids int32 [1, T] -> int8
// [1, T, D], each id's row; the [V, D] table kept as constant int8 factors (and a packed sparse S)
// with one float32 `scales` input, by tfc_{kind}_embedding_bag_s8 and tfc_{kind}_gather_s8. One
// Prepare reading the factors by structure kind (tfcompress/reference/structured_ops.py's
// _bag_prepare; a gather is the bag of each single token, recurrent_ops.py's _gather_prepare).
#include <cstdint>
#include <limits>

#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tfc_tflm_common.h"
#include "tfc_tflm_ops.h"

namespace {

using tfc_tflm::Refuse;

constexpr int64_t kVersion = 1;

enum class Table { kLmf, kHmf, kKp, kDkp, kSparse };

// The family: each op's custom code, table structure, whether it gathers, and its input names.
struct Kind {
  const char* op;
  Table table;
  bool gather;
  int inputs;
  const char* names;
};

constexpr Kind kLmfBag = {"TFC_LMF_EMBEDDING_BAG", Table::kLmf, false, 4, "ids, u, v, scales"};
constexpr Kind kHmfBag = {"TFC_HMF_EMBEDDING_BAG", Table::kHmf, false, 5, "ids, h, u, v, scales"};
constexpr Kind kKpBag = {"TFC_KP_EMBEDDING_BAG", Table::kKp, false, 4, "ids, a, b, scales"};
constexpr Kind kDkpBag = {"TFC_DKP_EMBEDDING_BAG", Table::kDkp, false, 5, "ids, a, b, scales, s"};
constexpr Kind kSparseBag = {"TFC_SPARSE_EMBEDDING_BAG", Table::kSparse, false, 3, "ids, scales, s"};
constexpr Kind kLmfGather = {"TFC_LMF_GATHER", Table::kLmf, true, 4, "ids, u, v, scales"};
constexpr Kind kHmfGather = {"TFC_HMF_GATHER", Table::kHmf, true, 5, "ids, h, u, v, scales"};
constexpr Kind kKpGather = {"TFC_KP_GATHER", Table::kKp, true, 4, "ids, a, b, scales"};
constexpr Kind kDkpGather = {"TFC_DKP_GATHER", Table::kDkp, true, 5, "ids, a, b, scales, s"};

struct OpData {
  const Kind* kind;
  tfc_structured_bag_params params;
  tfc_mf_bag_dims mf_dims;  // LMF, HMF
  tfc_mf_bag_quant mf_quant;
  tfc_kp_bag_dims kp_dims;  // KP, DKP
  tfc_kp_bag_quant kp_quant;
  tfc_embedding_bag_dims sparse_dims;  // SPARSE
  tfc_quant_multiplier sparse_multiplier;
  tfc_sparse_matrix s;  // DKP, SPARSE: its data pointer set at Eval
  int scratch_index;
};

void* Init(TfLiteContext* context, const char*, size_t) {
  return context->AllocatePersistentBuffer(context, sizeof(OpData));
}

bool IsIds(const TfLiteTensor* ids) {
  return ids != nullptr && ids->type == kTfLiteInt32 && tfc_tflm::Rank(ids) == 2 && ids->dims->data[0] == 1 &&
         ids->dims->data[1] >= 1;
}

// `count` multipliers real(i) / per_token into the persistent arena.
template <typename Real>
TfLiteStatus Multipliers(TfLiteContext* context, const char* op, const char* what, int64_t count, Real real,
                         const tfc_quant_multiplier** multipliers) {
  tfc_quant_multiplier* m = nullptr;
  TF_LITE_ENSURE_STATUS(tfc_tflm::PersistentMultipliers(context, op, count, &m));
  for (int64_t i = 0; i < count; ++i) {
    TF_LITE_ENSURE_STATUS(tfc_tflm::SetMultiplier(op, what, real(i), &m[i]));
  }
  *multipliers = m;
  return kTfLiteOk;
}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node, const Kind& kind) {
  TF_LITE_ENSURE(context, node->user_data != nullptr);
  const char* op = kind.op;
  const tfc_tflm::PrepareTensors tensors(context, node);
  const TfLiteTensor* ids = tensors.input(0);
  const TfLiteTensor* output = tensors.output(0);
  if (kind.gather) {  // checked before the options, as the reference's gather does
    if (tensors.inputs() < 1 || ids == nullptr || tensors.outputs() != 1) {
      return Refuse("%s: expects the ids, the table's factors and scales, and 1 output", op);
    }
    if (!IsIds(ids)) {
      return Refuse("%s: input 0 (ids) must be int32 [1, T]", op);
    }
    if (output == nullptr || output->type != kTfLiteInt8 || tfc_tflm::Rank(output) != 3 ||
        output->dims->data[0] != 1 || output->dims->data[1] != ids->dims->data[1] || output->dims->data[2] < 1) {
      return Refuse("%s: the output must be int8 [1, %d, D]", op, static_cast<int>(ids->dims->data[1]));
    }
  }
  const bool sparse = kind.table == Table::kDkp || kind.table == Table::kSparse;
  tfc_tflm::OptionField options[] = {{"pad_id", 0}, {"vocab", 0}, {"nnz", 0}};
  TF_LITE_ENSURE_STATUS(tfc_tflm::ReadOptions(op, node, kVersion, options, sparse ? 3 : 2));
  const int64_t pad_id = options[0].value, vocab = options[1].value;
  if (tensors.inputs() != kind.inputs || tensors.outputs() != 1 || ids == nullptr) {
    return Refuse("%s: expects %d inputs (%s) and 1 output", op, kind.inputs, kind.names);
  }
  if (!IsIds(ids)) {
    return Refuse("%s: input 0 (ids) must be int32 [1, T]", op);
  }
  if (!kind.gather && (output == nullptr || output->type != kTfLiteInt8 || tfc_tflm::Rank(output) != 2 ||
                       output->dims->data[0] != 1 || output->dims->data[1] < 1)) {
    return Refuse("%s: the output must be int8 [1, D]", op);
  }
  if (vocab < 1 || vocab > std::numeric_limits<int32_t>::max()) {
    return Refuse("%s: custom_options field 'vocab' must be positive (and fit int32), got %lld", op,
                  static_cast<long long>(vocab));
  }
  if (!tfc_tflm::HasScale(output)) {
    return Refuse("%s: the output must have a positive, finite scale", op);
  }
  const int32_t depth = output->dims->data[tfc_tflm::Rank(output) - 1];
  const int32_t tokens = ids->dims->data[1];
  const int32_t v = static_cast<int32_t>(vocab);
  // The mean's 1/T folded into every multiplier; a gather's row is the bag of one token.
  const double per_token = (kind.gather ? 1.0 : static_cast<double>(tokens)) * static_cast<double>(output->params.scale);
  auto* data = static_cast<OpData*>(node->user_data);
  data->kind = &kind;
  data->params = {output->params.zero_point, pad_id >= 0 && pad_id < vocab ? static_cast<int32_t>(pad_id) : -1};
  const TfLiteTensor* scales_input = tensors.input(kind.inputs - (sparse ? 2 : 1));
  const float* scales = nullptr;
  auto scale = [&scales](int64_t i) { return static_cast<double>(scales[i]); };
  int32_t rank = 0;
  switch (kind.table) {
    case Table::kLmf: {  // u [V, r], v [D, r]; scales u, v[D]
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(1), "u", ""));
      rank = tensors.input(1)->dims->data[1];
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(2), "v", "", depth, rank));
      if (tensors.input(1)->dims->data[0] != vocab) {
        return Refuse("%s: factor u must be [%lld, r], got [%d, %d]", op, static_cast<long long>(vocab),
                      static_cast<int>(tensors.input(1)->dims->data[0]), static_cast<int>(rank));
      }
      const tfc_tflm::ScaleGroup groups[] = {{"u", "", 1}, {"v", "", depth}};
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, scales_input, groups, 2, &scales));
      data->mf_quant.head = nullptr;
      TF_LITE_ENSURE_STATUS(Multipliers(context, op, "low-rank", depth,
                                        [&](int64_t c) { return scale(0) * scale(1 + c) / per_token; },
                                        &data->mf_quant.low_rank));
      break;
    }
    case Table::kHmf: {  // h [r, D], u [V - r, r], v [D, r]; scales h[D], u, v[D]
      const TfLiteTensor* h = tensors.input(1);
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, h, "h", ""));
      rank = h->dims->data[0];
      if (h->dims->data[1] != depth || rank >= vocab) {
        return Refuse("%s: factor h must be [r, %d] with 0 < r < %lld, got [%d, %d]", op, static_cast<int>(depth),
                      static_cast<long long>(vocab), static_cast<int>(rank), static_cast<int>(h->dims->data[1]));
      }
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(2), "u", "", vocab - rank, rank));
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(3), "v", "", depth, rank));
      const tfc_tflm::ScaleGroup groups[] = {{"h", "", depth}, {"u", "", 1}, {"v", "", depth}};
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, scales_input, groups, 3, &scales));
      TF_LITE_ENSURE_STATUS(Multipliers(context, op, "head", depth, [&](int64_t c) { return scale(c) / per_token; },
                                        &data->mf_quant.head));
      TF_LITE_ENSURE_STATUS(Multipliers(context, op, "low-rank", depth,
                                        [&](int64_t c) { return scale(depth) * scale(depth + 1 + c) / per_token; },
                                        &data->mf_quant.low_rank));
      break;
    }
    case Table::kKp:
    case Table::kDkp: {  // a [a_in, a_out], b [b_in, b_out]; scales a[a_out], b[b_out](, s)
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(1), "a", ""));
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareFactor(op, tensors.input(2), "b", ""));
      const int32_t a_in = tensors.input(1)->dims->data[0], a_out = tensors.input(1)->dims->data[1];
      const int32_t b_in = tensors.input(2)->dims->data[0], b_out = tensors.input(2)->dims->data[1];
      if (int64_t{a_in} * b_in < vocab || int64_t{a_out} * b_out < depth) {
        return Refuse("%s: factors a [%d, %d] and b [%d, %d] do not cover %lldx%d", op, static_cast<int>(a_in),
                      static_cast<int>(a_out), static_cast<int>(b_in), static_cast<int>(b_out),
                      static_cast<long long>(vocab), static_cast<int>(depth));
      }
      const tfc_tflm::ScaleGroup groups[] = {{"a", "", a_out}, {"b", "", b_out}, {"s", "", 1}};
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, scales_input, groups, sparse ? 3 : 2, &scales));
      TF_LITE_ENSURE_STATUS(Multipliers(context, op, "Kronecker", depth,  // entry c = p b_out + q
                                        [&](int64_t c) { return scale(c / b_out) * scale(a_out + c % b_out) / per_token; },
                                        &data->kp_quant.kron));
      data->kp_quant.sparse = {0, 0};
      if (sparse) {
        TF_LITE_ENSURE_STATUS(tfc_tflm::SetMultiplier(op, "sparse", scale(a_out + b_out) / per_token,
                                                      &data->kp_quant.sparse));
      }
      data->kp_dims = {v, depth, tokens, a_in, a_out, b_in, b_out};
      break;
    }
    case Table::kSparse: {  // scales s
      const tfc_tflm::ScaleGroup groups[] = {{"s", "", 1}};
      TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareScales(op, scales_input, groups, 1, &scales));
      TF_LITE_ENSURE_STATUS(tfc_tflm::SetMultiplier(op, "sparse", scale(0) / per_token, &data->sparse_multiplier));
      data->sparse_dims = {v, depth, tokens};
      break;
    }
  }
  data->mf_dims = {v, depth, tokens, rank};
  if (sparse) {
    TF_LITE_ENSURE_STATUS(tfc_tflm::PrepareSparseFactor(op, tensors.input(kind.inputs - 1), vocab, depth,
                                                        options[2].value, "nnz", "", &data->s));
  }
  if (2 * int64_t{depth} + rank > std::numeric_limits<int32_t>::max() / 4) {
    return Refuse("%s: a table of %d columns and rank %d needs more scratch than the kernels take", op,
                  static_cast<int>(depth), static_cast<int>(rank));
  }
  int32_t bytes = 0;  // a gather's scratch is its bag's
  switch (kind.table) {
    case Table::kLmf:
      bytes = tfc_lmf_embedding_bag_s8_get_buffer_size(&data->mf_dims);
      break;
    case Table::kHmf:
      bytes = tfc_hmf_embedding_bag_s8_get_buffer_size(&data->mf_dims);
      break;
    case Table::kKp:
      bytes = tfc_kp_embedding_bag_s8_get_buffer_size(&data->kp_dims);
      break;
    case Table::kDkp:
      bytes = tfc_dkp_embedding_bag_s8_get_buffer_size(&data->kp_dims);
      break;
    case Table::kSparse:
      bytes = tfc_sparse_embedding_bag_s8_get_buffer_size(&data->sparse_dims);
      break;
  }
  return context->RequestScratchBufferInArena(context, static_cast<size_t>(bytes), &data->scratch_index);
}

template <const Kind& K>
TfLiteStatus PrepareKind(TfLiteContext* context, TfLiteNode* node) {
  return Prepare(context, node, K);
}

TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const auto* data = static_cast<const OpData*>(node->user_data);
  const bool gather = data->kind->gather;
  auto in = [context, node](int i) {
    return tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalInput(context, node, i));
  };
  const int32_t* ids = tflite::micro::GetTensorData<int32_t>(tflite::micro::GetEvalInput(context, node, 0));
  int8_t* output = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalOutput(context, node, 0));
  auto* scratch = static_cast<int32_t*>(context->GetScratchBuffer(context, data->scratch_index));
  tfc_sparse_matrix s = data->s;
  tfc_status status = TFC_ARG_ERROR;
  switch (data->kind->table) {
    case Table::kLmf:
      status = (gather ? tfc_lmf_gather_s8 : tfc_lmf_embedding_bag_s8)(&data->params, &data->mf_quant,
                                                                      &data->mf_dims, ids, in(1), in(2), scratch,
                                                                      output);
      break;
    case Table::kHmf:
      status = (gather ? tfc_hmf_gather_s8 : tfc_hmf_embedding_bag_s8)(&data->params, &data->mf_quant,
                                                                      &data->mf_dims, ids, in(1), in(2), in(3),
                                                                      scratch, output);
      break;
    case Table::kKp:
      status = (gather ? tfc_kp_gather_s8 : tfc_kp_embedding_bag_s8)(&data->params, &data->kp_quant, &data->kp_dims,
                                                                    ids, in(1), in(2), scratch, output);
      break;
    case Table::kDkp:
      s.data = tfc_tflm::SparseData(tflite::micro::GetEvalInput(context, node, 4));
      status = (gather ? tfc_dkp_gather_s8 : tfc_dkp_embedding_bag_s8)(&data->params, &data->kp_quant,
                                                                      &data->kp_dims, ids, in(1), in(2), &s, scratch,
                                                                      output);
      break;
    case Table::kSparse:
      s.data = tfc_tflm::SparseData(tflite::micro::GetEvalInput(context, node, 2));
      status = tfc_sparse_embedding_bag_s8(&data->params, data->sparse_multiplier, &data->sparse_dims, ids, &s,
                                           scratch, output);
      break;
  }
  return tfc_tflm::KernelStatus(data->kind->op, status);
}

template <const Kind& K>
TFLMRegistration* Registration() {
  static TFLMRegistration registration = tflite::micro::RegisterOp(Init, PrepareKind<K>, Eval);
  return &registration;
}

}  // namespace

TFLMRegistration* Register_TFC_LMF_EMBEDDING_BAG() { return Registration<kLmfBag>(); }
TFLMRegistration* Register_TFC_HMF_EMBEDDING_BAG() { return Registration<kHmfBag>(); }
TFLMRegistration* Register_TFC_KP_EMBEDDING_BAG() { return Registration<kKpBag>(); }
TFLMRegistration* Register_TFC_DKP_EMBEDDING_BAG() { return Registration<kDkpBag>(); }
TFLMRegistration* Register_TFC_SPARSE_EMBEDDING_BAG() { return Registration<kSparseBag>(); }
TFLMRegistration* Register_TFC_LMF_GATHER() { return Registration<kLmfGather>(); }
TFLMRegistration* Register_TFC_HMF_GATHER() { return Registration<kHmfGather>(); }
TFLMRegistration* Register_TFC_KP_GATHER() { return Registration<kKpGather>(); }
TFLMRegistration* Register_TFC_DKP_GATHER() { return Registration<kDkpGather>(); }
