/* ESP-IDF's entry point: the harness runs in the main task (its stack is the profile's
   memory.stack_bytes, CONFIG_ESP_MAIN_TASK_STACK_SIZE) and never returns. */
#include "tfc_harness.h"

void app_main(void)
{
    tfc_harness_main();
}
