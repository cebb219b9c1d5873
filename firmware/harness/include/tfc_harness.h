/*
 * The harness core: reads requests from the serial line, tokenises on the device, runs the
 * backend and answers (docs/protocol.md). Shared by every port; no heap, no stdio.
 */
#ifndef TFC_HARNESS_H
#define TFC_HARNESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sends the banner (id 0). */
void tfc_harness_start(void);

/* Handles one byte from the serial line, answering any request it completes. */
void tfc_harness_feed(uint8_t byte);

/* tfc_port_init, the banner, then bytes until the line closes (never, on a board). */
int tfc_harness_main(void);

#ifdef __cplusplus
}
#endif

#endif /* TFC_HARNESS_H */
