// The TFLM backend: the bundle's .tflite (model_data.c) run by TensorFlow Lite Micro's
// MicroInterpreter, with the builtin and TFC_ ops the model uses (tfc_tflm_model.cc, generated
// by converters/tflm_model.py; the TFC_ ops are firmware/tflm's glue over the C kernels), each
// operator counted by a MicroProfilerInterface on the port's counter. Same contract as the
// generated-C backend (tfc_backend.h): the harness cannot tell them apart but by name.
#include <new>

#include "labels_data.h"
#include "model_data.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tfc_backend.h"
#include "tfc_port.h"
#include "tfc_tflm_model.h"
#include "tokenizer_data.h"

#if defined(TFC_TFLM_DEBUG_LOG_CALLBACK)
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#endif

namespace {

// Ticks per operator of the last invoke. TFLM's graph brackets each operator's Invoke with
// BeginEvent/EndEvent in operator order, so the k-th event of an invoke is operator k.
class LayerProfiler final : public tflite::MicroProfilerInterface {
 public:
  void Reset() {
    next_ = 0;
    for (uint32_t& t : ticks_) t = 0;
  }
  uint32_t BeginEvent(const char*) override {
    const uint32_t handle = next_++;
    if (handle < TFC_TFLM_OPERATOR_COUNT) started_[handle] = tfc_port_counter();
    return handle;
  }
  void EndEvent(uint32_t handle) override {
    if (handle < TFC_TFLM_OPERATOR_COUNT) {
      ticks_[handle] += (tfc_port_counter() - started_[handle]) & tfc_port_counter_mask;
    }
  }
  uint32_t ticks(int32_t layer) const { return ticks_[layer]; }

 private:
  uint32_t next_ = 0;
  uint32_t started_[TFC_TFLM_OPERATOR_COUNT] = {};
  uint32_t ticks_[TFC_TFLM_OPERATOR_COUNT] = {};
};

// The objects live in static storage, built in tfc_backend_init by placement new: no heap and
// no reliance on the port running C++ static constructors before main.
alignas(16) uint8_t arena[TFC_TFLM_ARENA_BYTES];
alignas(TfcTflmResolver) uint8_t resolver_storage[sizeof(TfcTflmResolver)];
alignas(LayerProfiler) uint8_t profiler_storage[sizeof(LayerProfiler)];
alignas(tflite::MicroInterpreter) uint8_t interpreter_storage[sizeof(tflite::MicroInterpreter)];
LayerProfiler* profiler = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;

// The first message TFLM logged (why AllocateTensors or an op refused), and the failure the
// banner reports: what failed, then TFLM's words.
char tflm_message[160];
char failure[240];

// Appends `text` to the string `to` (of `size` bytes), cut to fit, line breaks as spaces.
void Append(char* to, size_t size, const char* text) {
  size_t at = 0;
  while (at + 1 < size && to[at] != '\0') ++at;
  for (; *text != '\0' && at + 1 < size; ++text, ++at) to[at] = (*text == '\n' || *text == '\r') ? ' ' : *text;
  to[at] = '\0';
}

void RememberLog(const char* message) {
  if (tflm_message[0] == '\0') Append(tflm_message, sizeof(tflm_message), message);
}

// Init statuses (the banner's `error`): which check failed.
enum InitStatus : int32_t {
  kOk = 0,
  kSchemaVersion = 1,
  kResolver = 2,
  kAllocate = 3,
  kInputShape = 4,
  kOutputShape = 5,
};

int32_t Fail(InitStatus status, const char* what) {
  failure[0] = '\0';
  Append(failure, sizeof(failure), what);
  if (tflm_message[0] != '\0') {
    Append(failure, sizeof(failure), ": ");
    Append(failure, sizeof(failure), tflm_message);
  }
  return status;
}

}  // namespace

extern "C" {

const char tfc_backend_name[] = "tflm";

int32_t tfc_backend_init(void) {
#if defined(TFC_TFLM_DEBUG_LOG_CALLBACK)
  RegisterDebugLogCallback(RememberLog);
#endif
  const tflite::Model* model = tflite::GetModel(g_model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    return Fail(kSchemaVersion, "the model's schema version is not the one TFLM was built with");
  }
  auto* resolver = new (resolver_storage) TfcTflmResolver();
  if (tfc_tflm_add_ops(*resolver) != kTfLiteOk) {
    return Fail(kResolver, "the op resolver has no room for the model's ops");
  }
  profiler = new (profiler_storage) LayerProfiler();
  interpreter = new (interpreter_storage)
      tflite::MicroInterpreter(model, *resolver, arena, sizeof(arena), nullptr, profiler);
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    return Fail(kAllocate, "AllocateTensors failed (an arena too small? build with a larger --arena-bytes)");
  }
  const TfLiteTensor* input = interpreter->input(0);
  const TfLiteTensor* output = interpreter->output(0);
  if (interpreter->inputs_size() != 1 || input->type != kTfLiteInt32 ||
      input->bytes != sizeof(int32_t) * TFC_MAX_LENGTH) {
    return Fail(kInputShape, "the model does not take one int32 [1, max_length] input");
  }
  if (interpreter->outputs_size() != 1 || output->type != kTfLiteInt8 || output->bytes != TFC_NUM_LABELS) {
    return Fail(kOutputShape, "the model does not give one int8 score per label");
  }
  return kOk;
}

const char* tfc_backend_error(void) { return failure[0] != '\0' ? failure : tflm_message; }

int32_t tfc_backend_invoke(const int32_t* ids, int8_t* scores) {
  int32_t* input = interpreter->input(0)->data.i32;
  for (int32_t k = 0; k < TFC_MAX_LENGTH; ++k) input[k] = ids[k];
  profiler->Reset();
  tflm_message[0] = '\0';  // the detail of this invoke's failure, if it fails
  if (interpreter->Invoke() != kTfLiteOk) return 1;
  const int8_t* output = interpreter->output(0)->data.int8;
  for (int32_t k = 0; k < TFC_NUM_LABELS; ++k) scores[k] = output[k];
  return 0;
}

int32_t tfc_backend_layer_count(void) { return TFC_TFLM_OPERATOR_COUNT; }

const char* tfc_backend_layer_name(int32_t layer) { return tfc_tflm_operator_names[layer]; }

uint32_t tfc_backend_layer_ticks(int32_t layer) { return profiler != nullptr ? profiler->ticks(layer) : 0; }

// What TFLM's allocator used of the arena (its tensors, op data and scratch), not its capacity.
size_t tfc_backend_arena_bytes(void) { return interpreter != nullptr ? interpreter->arena_used_bytes() : 0; }

}  // extern "C"

// TFLM never deletes what it builds (everything lives in static storage or the arena), but the
// deleting destructors of its virtual classes name operator delete: defined here, they keep
// libstdc++'s, and with it free and the heap, out of the image.
void operator delete(void*) noexcept {}
void operator delete(void*, size_t) noexcept {}
