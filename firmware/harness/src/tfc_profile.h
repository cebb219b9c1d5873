/* Per-operator counting for the generated C (TFC_PROFILE_USER_HEADER): the port's counter,
   accumulated per operator into tfc_layer_ticks (backend_generated_c.c). */
#ifndef TFC_PROFILE_H
#define TFC_PROFILE_H

#include <stdint.h>

#include "tfc_port.h"

extern uint32_t tfc_layer_ticks[];
extern uint32_t tfc_layer_started;

#define TFC_PROFILE_BEGIN(k) (tfc_layer_started = tfc_port_counter())
#define TFC_PROFILE_END(k) \
    (tfc_layer_ticks[(k)] += (tfc_port_counter() - tfc_layer_started) & tfc_port_counter_mask)

#endif /* TFC_PROFILE_H */
