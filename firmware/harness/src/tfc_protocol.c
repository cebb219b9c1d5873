/* Framing, CRC-32, escaping and request parsing of docs/protocol.md: pure functions, no I/O. */
#include "tfc_protocol.h"

#include <string.h>

uint32_t tfc_crc32(const uint8_t *data, size_t length)
{
    /* Bitwise CRC-32 (reflected polynomial 0xEDB88320): no table, so no 1 KB of flash. */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < length; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

void tfc_line_reader_init(tfc_line_reader *reader)
{
    reader->length = 0;
    reader->in_frame = 0;
    reader->overflowed = 0;
}

tfc_line_event tfc_line_feed(tfc_line_reader *reader, uint8_t byte)
{
    if (byte == '$') { /* always a new frame: whatever came before is dropped */
        reader->in_frame = 1;
        reader->length = 0;
        reader->overflowed = 0;
        return TFC_LINE_NONE;
    }
    if (!reader->in_frame) {
        return TFC_LINE_NONE;
    }
    if (byte == '\n') {
        reader->in_frame = 0;
        if (reader->overflowed) {
            return TFC_LINE_TOO_LONG;
        }
        if (reader->length > 0 && reader->line[reader->length - 1] == '\r') {
            --reader->length;
        }
        return TFC_LINE_FRAME;
    }
    if (reader->length < TFC_LINE_MAX) {
        reader->line[reader->length++] = byte;
    } else {
        reader->overflowed = 1;
    }
    return TFC_LINE_NONE;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* A byte a frame may carry literally: printable ASCII other than the framing bytes and '%'. */
static int is_literal(uint8_t c)
{
    return c >= 0x20 && c < 0x7F && c != '$' && c != '*' && c != '%';
}

static int word_is(const uint8_t *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static tfc_request_status read_id(const uint8_t *s, size_t n, uint32_t *id)
{
    uint32_t value = 0;
    if (n == 0 || n > 9) {
        return TFC_REQUEST_BAD_ID;
    }
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return TFC_REQUEST_BAD_ID;
        }
        value = value * 10u + (uint32_t)(s[i] - '0');
    }
    if (value == 0 || value > TFC_ID_MAX) {
        return TFC_REQUEST_BAD_ID;
    }
    *id = value;
    return TFC_REQUEST_OK;
}

static tfc_request_status unescape(const uint8_t *s, size_t n, tfc_request *request)
{
    size_t out = 0;
    for (size_t i = 0; i < n; ++i) {
        uint8_t c = s[i];
        if (c == '%') {
            const int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            const int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return TFC_REQUEST_SYNTAX;
            }
            c = (uint8_t)(hi * 16 + lo);
            i += 2;
        } else if (!is_literal(c)) {
            return TFC_REQUEST_SYNTAX;
        }
        if (out == TFC_TEXT_MAX) {
            return TFC_REQUEST_TOO_LONG;
        }
        request->text[out++] = c;
    }
    request->text_length = out;
    return TFC_REQUEST_OK;
}

tfc_request_status tfc_parse_request(const uint8_t *line, size_t length, tfc_request *request)
{
    request->id = 0;
    request->text_length = 0;
    /* Checksum: the last '*' is followed by exactly 8 hex digits, the CRC-32 of what precedes it. */
    if (length < 9 || line[length - 9] != '*') {
        return TFC_REQUEST_CRC;
    }
    uint32_t crc = 0;
    for (size_t i = length - 8; i < length; ++i) {
        const int v = hex_value(line[i]);
        if (v < 0) {
            return TFC_REQUEST_CRC;
        }
        crc = (crc << 4) | (uint32_t)v;
    }
    const size_t body = length - 9;
    /* Verb, then id, separated by single spaces. */
    size_t verb_end = 0;
    while (verb_end < body && line[verb_end] != ' ') {
        ++verb_end;
    }
    size_t id_end = verb_end + 1;
    while (id_end < body && line[id_end] != ' ') {
        ++id_end;
    }
    const int id_readable = verb_end < body &&
        read_id(line + verb_end + 1, (id_end < body ? id_end : body) - verb_end - 1, &request->id) == TFC_REQUEST_OK;
    if (crc != tfc_crc32(line, body)) {
        request->id = 0; /* an id under a bad checksum cannot be trusted */
        return TFC_REQUEST_CRC;
    }
    if (verb_end == 0 || verb_end >= body) {
        return TFC_REQUEST_SYNTAX;
    }
    if (!id_readable) {
        return TFC_REQUEST_BAD_ID;
    }
    const uint8_t *args = id_end < body ? line + id_end + 1 : line + body;
    const size_t args_length = id_end < body ? body - id_end - 1 : 0;
    const int has_args = id_end < body;
    if (word_is(line, verb_end, "HELLO") || word_is(line, verb_end, "STATS")) {
        request->verb = line[0] == 'H' ? TFC_VERB_HELLO : TFC_VERB_STATS;
        return has_args ? TFC_REQUEST_VERB : TFC_REQUEST_OK;
    }
    if (word_is(line, verb_end, "TOK")) {
        request->verb = TFC_VERB_TOKENIZE;
    } else if (word_is(line, verb_end, "RUN")) {
        request->verb = TFC_VERB_RUN;
    } else {
        return TFC_REQUEST_VERB;
    }
    return unescape(args, args_length, request);
}

const char *tfc_request_status_code(tfc_request_status status)
{
    switch (status) {
    case TFC_REQUEST_OK:
        return "ok";
    case TFC_REQUEST_CRC:
        return "crc";
    case TFC_REQUEST_SYNTAX:
        return "syntax";
    case TFC_REQUEST_BAD_ID:
        return "bad-id";
    case TFC_REQUEST_VERB:
        return "verb";
    case TFC_REQUEST_TOO_LONG:
        return "too-long";
    }
    return "syntax";
}

/* ---- Replies */
static const char TRUNCATED[] = " truncated=1";
#define TAIL_BYTES (sizeof TRUNCATED + 10u)

static void put_bytes(tfc_frame_writer *w, const char *s, size_t n)
{
    /* The tail stays free for " truncated=1", "*CRC\n" and the terminating NUL. */
    const size_t limit = TFC_REPLY_MAX - TAIL_BYTES;
    const size_t room = limit - w->length;
    if (w->truncated) {
        return;
    }
    if (n > room) {
        /* Cut at the last separator, ' ' before a field or ',' in a list, at or before the limit
           (text[limit] is the first byte that does not fit) but not before the first field: the
           host then reads whole fields and whole numbers, never half an escape or a shorter number. */
        size_t head = limit; /* where the first field begins: the second space, "$VERB ID|" */
        for (size_t i = 1, spaces = 0; i < w->length; ++i) {
            if (w->text[i] == ' ' && ++spaces == 2) {
                head = i;
                break;
            }
        }
        memcpy(w->text + w->length, s, room + 1);
        size_t cut = limit;
        while (cut > head && w->text[cut] != ' ' && w->text[cut] != ',') {
            --cut;
        }
        w->length = cut;
        w->truncated = 1;
        return;
    }
    memcpy(w->text + w->length, s, n);
    w->length += n;
}

void tfc_frame_put(tfc_frame_writer *w, const char *s)
{
    put_bytes(w, s, strlen(s));
}

void tfc_frame_put_u64(tfc_frame_writer *w, uint64_t value)
{
    char digits[21];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0);
    put_bytes(w, digits + n, sizeof digits - n);
}

void tfc_frame_put_i32(tfc_frame_writer *w, int32_t value)
{
    if (value < 0) {
        put_bytes(w, "-", 1);
        tfc_frame_put_u64(w, (uint64_t)(-(int64_t)value));
    } else {
        tfc_frame_put_u64(w, (uint64_t)value);
    }
}

void tfc_frame_begin(tfc_frame_writer *w, const char *verb, uint32_t id)
{
    w->length = 0;
    w->truncated = 0;
    put_bytes(w, "$", 1);
    tfc_frame_put(w, verb);
    put_bytes(w, " ", 1);
    tfc_frame_put_u64(w, id);
}

void tfc_frame_put_field(tfc_frame_writer *w, const char *key)
{
    put_bytes(w, " ", 1);
    tfc_frame_put(w, key);
    put_bytes(w, "=", 1);
}

void tfc_frame_put_escaped(tfc_frame_writer *w, const uint8_t *bytes, size_t length)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < length; ++i) {
        const uint8_t c = bytes[i];
        if (is_literal(c) && c != ' ' && c != '=' && c != ',') {
            put_bytes(w, (const char *)&bytes[i], 1);
        } else {
            const char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            put_bytes(w, escaped, 3);
        }
    }
}

size_t tfc_frame_finish(tfc_frame_writer *w)
{
    static const char hex[] = "0123456789ABCDEF";
    if (w->truncated) {
        memcpy(w->text + w->length, TRUNCATED, sizeof TRUNCATED - 1);
        w->length += sizeof TRUNCATED - 1;
    }
    const uint32_t crc = tfc_crc32((const uint8_t *)w->text + 1, w->length - 1);
    w->text[w->length++] = '*';
    for (int shift = 28; shift >= 0; shift -= 4) {
        w->text[w->length++] = hex[(crc >> shift) & 15u];
    }
    w->text[w->length++] = '\n';
    w->text[w->length] = '\0';
    return w->length;
}
