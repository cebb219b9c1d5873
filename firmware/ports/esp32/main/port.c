/* The ESP32 port: the thin glue between the shared harness and ESP-IDF. The serial line is the
   board's USB-UART bridge on UART0 through ESP-IDF's UART driver (uart.driver "idf_uart", the
   profile's uart.num and uart.baud) or the ESP32-S3's native USB Serial/JTAG ("usb_serial_jtag");
   the counter is the core's cycle counter (CCOUNT, esp_cpu_get_cycle_count); the stack figure is
   FreeRTOS's high-water mark of the main task, which runs the harness. */
#include "tfc_port.h"

#include "esp_cpu.h"
#include "esp_image_format.h"
#include "esp_ota_ops.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"
#include "tfc_build_info.h"

#if defined(TFC_UART_DRIVER_USB_SERIAL_JTAG)
#include "driver/usb_serial_jtag.h"
#elif defined(TFC_UART_DRIVER_IDF_UART)
#include "driver/uart.h"
#ifndef TFC_UART_NUM
#define TFC_UART_NUM 0
#endif
#else
#error "uart.driver must be idf_uart or usb_serial_jtag on the esp32 port"
#endif

#define RX_BUFFER_BYTES 2048 /* more than a request line (1,600 bytes) */

const uint32_t tfc_port_counter_mask = 0xFFFFFFFFu;
const uint32_t tfc_port_counter_numerator = TFC_COUNTER_NUMERATOR;
const uint32_t tfc_port_counter_denominator = TFC_COUNTER_DENOMINATOR;
const char tfc_port_counter_unit[] = TFC_COUNTER_UNIT;

/* ESP-IDF's linker scripts: the start of .data and the end of .bss in internal RAM. */
extern uint8_t _data_start[], _bss_end[];

void tfc_port_init(void)
{
#if defined(TFC_UART_DRIVER_USB_SERIAL_JTAG)
    usb_serial_jtag_driver_config_t config = USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT();
    config.rx_buffer_size = RX_BUFFER_BYTES;
    ESP_ERROR_CHECK(usb_serial_jtag_driver_install(&config));
#else
    const uart_config_t config = {
        .baud_rate = TFC_UART_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
        .source_clk = UART_SCLK_DEFAULT,
    };
    ESP_ERROR_CHECK(uart_driver_install(TFC_UART_NUM, RX_BUFFER_BYTES, 0, 0, NULL, 0));
    ESP_ERROR_CHECK(uart_param_config(TFC_UART_NUM, &config)); /* UART0 keeps its pins: the USB bridge's */
#endif
}

int tfc_port_read_byte(void)
{
    uint8_t byte;
#if defined(TFC_UART_DRIVER_USB_SERIAL_JTAG)
    while (usb_serial_jtag_read_bytes(&byte, 1, portMAX_DELAY) != 1) {
    }
#else
    while (uart_read_bytes(TFC_UART_NUM, &byte, 1, portMAX_DELAY) != 1) {
    }
#endif
    return byte;
}

void tfc_port_write(const char *data, size_t length)
{
#if defined(TFC_UART_DRIVER_USB_SERIAL_JTAG)
    while (length > 0) {
        const int sent = usb_serial_jtag_write_bytes(data, length, portMAX_DELAY);
        if (sent > 0) {
            data += sent;
            length -= (size_t)sent;
        }
    }
#else
    uart_write_bytes(TFC_UART_NUM, data, length); /* blocks until all is in the driver's FIFO */
#endif
}

uint32_t tfc_port_counter(void)
{
    return (uint32_t)esp_cpu_get_cycle_count();
}

size_t tfc_port_flash_used(void)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    const esp_partition_pos_t position = {.offset = running->address, .size = running->size};
    esp_image_metadata_t image;
    return esp_image_get_metadata(&position, &image) == ESP_OK ? (size_t)image.image_len : 0;
}

size_t tfc_port_ram_used(void)
{
    return (size_t)(_bss_end - _data_start) + CONFIG_ESP_MAIN_TASK_STACK_SIZE;
}

size_t tfc_port_stack_used(void)
{
    /* ESP-IDF's FreeRTOS counts stacks in bytes */
    return (size_t)CONFIG_ESP_MAIN_TASK_STACK_SIZE - (size_t)uxTaskGetStackHighWaterMark(NULL);
}
