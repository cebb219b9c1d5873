/* The harness core (docs/protocol.md): one request at a time, answered before the next is read. */
#include "tfc_harness.h"

#include <string.h>

#include "labels_data.h"
#include "tfc_backend.h"
#include "tfc_build_info.h"
#include "tfc_port.h"
#include "tfc_protocol.h"
#include "tfc_tokenizer.h"
#include "tokenizer_data.h"

static tfc_line_reader reader;
static tfc_request request;
static tfc_frame_writer reply;
static int32_t ids[TFC_MAX_LENGTH];
static int8_t scores[TFC_NUM_LABELS];
static int32_t backend_status;

static const tfc_vocabulary vocabulary = TFC_VOCABULARY_FROM_DATA;

static void send_reply(void)
{
    tfc_port_write(reply.text, tfc_frame_finish(&reply));
}

static void send_error(uint32_t id, const char *code, const char *detail)
{
    tfc_frame_begin(&reply, "ERR", id);
    tfc_frame_put_field(&reply, "code");
    tfc_frame_put(&reply, code);
    if (detail != NULL) {
        tfc_frame_put_field(&reply, "detail");
        tfc_frame_put(&reply, detail);
    }
    send_reply();
}

static void put_number(const char *key, uint64_t value)
{
    tfc_frame_put_field(&reply, key);
    tfc_frame_put_u64(&reply, value);
}

/* The comma before every item of a list but its first. */
static void put_separator(int32_t item)
{
    if (item > 0) {
        tfc_frame_put(&reply, ",");
    }
}

static void put_text(const char *key, const char *value)
{
    tfc_frame_put_field(&reply, key);
    tfc_frame_put(&reply, value);
}

/* The backend's own words on a failure, where it has some. */
static void put_detail(void)
{
    const char *detail = tfc_backend_error();
    if (detail[0] != '\0') {
        tfc_frame_put_field(&reply, "detail");
        tfc_frame_put_escaped(&reply, (const uint8_t *)detail, strlen(detail));
    }
}

static void send_banner(uint32_t id)
{
    tfc_frame_begin(&reply, "BANNER", id);
    put_number("protocol", TFC_PROTOCOL_VERSION);
    put_text("model", TFC_MODEL_SHA256);
    put_text("backend", tfc_backend_name);
    put_text("board", TFC_BOARD_NAME);
    put_text("core", TFC_BOARD_CORE);
    put_number("clock", TFC_BOARD_CLOCK_HZ);
    put_text("counter", tfc_port_counter_unit);
    put_number("dsp", TFC_USE_DSP);
    put_number("flash", tfc_port_flash_used());
    put_number("ram", tfc_port_ram_used());
    put_number("arena", tfc_backend_arena_bytes());
    put_number("labels", TFC_NUM_LABELS);
    put_number("max_length", TFC_MAX_LENGTH);
    put_number("text_max", TFC_TEXT_MAX);
    put_number("layers", (uint64_t)tfc_backend_layer_count());
    if (backend_status != 0) {
        tfc_frame_put_field(&reply, "error");
        tfc_frame_put_i32(&reply, backend_status);
        put_detail();
    }
    send_reply();
}

static void send_tokens(uint32_t id)
{
    const size_t words = tfc_tokenize(&vocabulary, request.text, request.text_length, ids);
    tfc_frame_begin(&reply, "TOK", id);
    put_number("words", words);
    tfc_frame_put_field(&reply, "ids");
    for (int32_t k = 0; k < TFC_MAX_LENGTH; ++k) {
        put_separator(k);
        tfc_frame_put_i32(&reply, ids[k]);
    }
    send_reply();
}

static uint64_t counted(uint32_t ticks)
{
    return (uint64_t)ticks * tfc_port_counter_numerator / tfc_port_counter_denominator;
}

static void send_result(uint32_t id)
{
    if (backend_status != 0) {
        send_error(id, "model", "the backend did not initialise");
        return;
    }
    tfc_tokenize(&vocabulary, request.text, request.text_length, ids);
    const uint32_t started = tfc_port_counter();
    const int32_t status = tfc_backend_invoke(ids, scores);
    const uint32_t ticks = (tfc_port_counter() - started) & tfc_port_counter_mask;
    if (status != 0) {
        tfc_frame_begin(&reply, "ERR", id);
        put_text("code", "model");
        tfc_frame_put_field(&reply, "status");
        tfc_frame_put_i32(&reply, status);
        put_detail();
        send_reply();
        return;
    }
    int32_t best = 0;
    for (int32_t k = 1; k < TFC_NUM_LABELS; ++k) {
        if (scores[k] > scores[best]) { /* the first of equal scores, as numpy.argmax */
            best = k;
        }
    }
    tfc_frame_begin(&reply, "OUT", id);
    put_number("intent", (uint64_t)best);
    tfc_frame_put_field(&reply, "label");
    tfc_frame_put_escaped(&reply, (const uint8_t *)tfc_labels[best], strlen(tfc_labels[best]));
    put_number("count", counted(ticks));
    tfc_frame_put_field(&reply, "scores");
    for (int32_t k = 0; k < TFC_NUM_LABELS; ++k) {
        put_separator(k);
        tfc_frame_put_i32(&reply, scores[k]);
    }
    const int32_t layers = tfc_backend_layer_count();
    if (layers > 0) {
        tfc_frame_put_field(&reply, "layers");
        for (int32_t k = 0; k < layers; ++k) {
            put_separator(k);
            tfc_frame_put_u64(&reply, counted(tfc_backend_layer_ticks(k)));
        }
    }
    send_reply();
}

static void send_stats(uint32_t id)
{
    tfc_frame_begin(&reply, "STATS", id);
    put_number("flash", tfc_port_flash_used());
    put_number("ram", tfc_port_ram_used());
    put_number("stack", tfc_port_stack_used());
    put_number("arena", tfc_backend_arena_bytes());
    tfc_frame_put_field(&reply, "layer_names");
    for (int32_t k = 0; k < tfc_backend_layer_count(); ++k) {
        put_separator(k);
        tfc_frame_put(&reply, tfc_backend_layer_name(k));
    }
    send_reply();
}

void tfc_harness_start(void)
{
    tfc_line_reader_init(&reader);
    backend_status = tfc_backend_init();
    send_banner(0);
}

void tfc_harness_feed(uint8_t byte)
{
    const tfc_line_event event = tfc_line_feed(&reader, byte);
    if (event == TFC_LINE_TOO_LONG) {
        send_error(0, "too-long", "line");
        return;
    }
    if (event != TFC_LINE_FRAME) {
        return;
    }
    const tfc_request_status status = tfc_parse_request(reader.line, reader.length, &request);
    if (status != TFC_REQUEST_OK) {
        send_error(request.id, tfc_request_status_code(status), NULL);
        return;
    }
    switch (request.verb) {
    case TFC_VERB_HELLO:
        send_banner(request.id);
        break;
    case TFC_VERB_TOKENIZE:
        send_tokens(request.id);
        break;
    case TFC_VERB_RUN:
        send_result(request.id);
        break;
    case TFC_VERB_STATS:
        send_stats(request.id);
        break;
    }
}

int tfc_harness_main(void)
{
    tfc_port_init();
    tfc_harness_start();
    for (;;) {
        const int byte = tfc_port_read_byte();
        if (byte < 0) {
            return 0;
        }
        tfc_harness_feed((uint8_t)byte);
    }
}
