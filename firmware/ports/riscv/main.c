#include "tfc_harness.h"

int main(void)
{
    return tfc_harness_main();
}
