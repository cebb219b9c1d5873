/*
 * A backend runs the int8 model: the generated C (backend_generated_c.c) or TFLM's
 * MicroInterpreter (backend_tflm.cc).
 * It also counts each layer with the port's counter, where it can.
 */
#ifndef TFC_BACKEND_H
#define TFC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const char tfc_backend_name[];

/* Prepares the model; 0 when it is ready, else a status the banner reports. */
int32_t tfc_backend_init(void);

/* Why init or the last invoke failed, in words ("" when the backend has nothing to say). */
const char *tfc_backend_error(void);

/* Runs the model on `ids` (the model's input length) into `scores` (its output length);
   0, or a backend status (the generated C's: 1 + the operator that refused its input;
   TFLM's: 1, Invoke failed). */
int32_t tfc_backend_invoke(const int32_t *ids, int8_t *scores);

/* Layers the backend counts (0 where it cannot); their names; and the counter ticks each took
   in the last invoke. */
int32_t tfc_backend_layer_count(void);
const char *tfc_backend_layer_name(int32_t layer);
uint32_t tfc_backend_layer_ticks(int32_t layer);

/* Bytes of working memory the model uses (the arena). */
size_t tfc_backend_arena_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* TFC_BACKEND_H */
