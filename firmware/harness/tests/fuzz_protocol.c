/*
 * Fuzzes the harness's protocol and tokenizer (tfc_protocol.c, tfc_tokenizer.c) on the host,
 * against independent reference implementations written here: a table CRC-32, a line reader,
 * a request parser, a tokenizer (linear search) and a reply formatter.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -pedantic -g -O2 -fsanitize=address,undefined \
 *      -fno-sanitize-recover=all -I firmware/harness/include -I GENERATED \
 *      firmware/harness/src/tfc_protocol.c firmware/harness/src/tfc_tokenizer.c \
 *      GENERATED/tokenizer_data.c firmware/harness/tests/fuzz_protocol.c -o fuzz_protocol
 *   ./fuzz_protocol [FRAMES [SEED [TOKENS_FILE]]]
 *
 * GENERATED holds a (small) tokenizer_data.{h,c} of converters/c_arrays.tokenizer_files;
 * tests/firmware/test_harness.py writes one. Each of FRAMES iterations (default 1,000,000) builds one
 * request frame from the seeded generator (HELLO/TOK/RUN/STATS with random text and id), then
 * either leaves it valid or mutates it (ids, verbs, escapes, checksums, overlong lines, bytes
 * flipped/inserted/deleted, '$' and '\n' inserted, truncation, NUL and 0xFF bytes), puts random
 * garbage before it and feeds the bytes through tfc_line_feed. Every event is compared with the
 * reference reader, every frame's tfc_parse_request with the reference parser; a valid unmutated
 * frame must parse to its verb, id and text. Every text parsed is tokenised (tfc_tokenize, into a
 * buffer of exactly max_length ids; the text copied to a buffer of its exact size) and compared
 * with the reference tokenizer. Every request gets the reply the harness would send, formatted
 * with tfc_frame_* and checked against the reference formatter (exact bytes; a truncated frame
 * is the longest prefix cut at a field or list separator, then " truncated=1"), its CRC, its
 * length (< TFC_REPLY_MAX) and its shape (VERB ID key=value ...); some replies carry long
 * escaped labels and number lists to force truncation. TOKENS_FILE, when given, receives the
 * first 20,000 tokenised texts (hex) with their ids, for comparison with the Python tokenizer.
 * Any mismatch prints the seed, the iteration and the bytes, and exits 1 (aborts under libFuzzer).
 *
 * With clang, -DTFC_LIBFUZZER -fsanitize=fuzzer,address,undefined builds a libFuzzer target
 * instead (LLVMFuzzerTestOneInput: the input bytes as a serial stream, the same checks).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc_protocol.h"
#include "tfc_tokenizer.h"
#include "tokenizer_data.h"

/* ---------------------------------------------------------------- failures */
static unsigned long long current_seed;
static unsigned long long current_iteration;
static const uint8_t *current_input;
static size_t current_input_length;

static void fail(const char *format, ...)
{
    va_list args;
    fprintf(stderr, "fuzz_protocol: seed %llu, iteration %llu: ", current_seed, current_iteration);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\ninput (%lu bytes):", (unsigned long)current_input_length);
    for (size_t i = 0; current_input != NULL && i < current_input_length && i < 4096; ++i) {
        fprintf(stderr, " %02x", current_input[i]);
    }
    fprintf(stderr, "\n");
#ifdef TFC_LIBFUZZER
    abort();
#else
    exit(1);
#endif
}

#define CHECK(cond, ...)          \
    do {                          \
        if (!(cond)) {            \
            fail(__VA_ARGS__);    \
        }                         \
    } while (0)

/* ---------------------------------------------------------------- random numbers (splitmix64) */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t below(size_t n) /* uniform enough in [0, n), n > 0 */
{
    return (size_t)(rnd() % (uint64_t)n);
}

static int chance(unsigned percent)
{
    return below(100) < percent;
}

/* ---------------------------------------------------------------- reference CRC-32 (table, zlib's) */
static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; ++n) {
        uint32_t c = n;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

static uint32_t ref_crc(const uint8_t *data, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c = crc_table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

#define BUF_MAX 16384u

static const char HEX_UPPER[] = "0123456789ABCDEF";

/* ---------------------------------------------------------------- reference line reader */
typedef struct {
    int in_frame;
    size_t raw_length; /* bytes since '$', '\r' included; counts on past the store */
    uint8_t store[BUF_MAX];
} ref_reader;

/* 0: nothing, 1: a frame (`line`/`length`), 2: too long. */
static int ref_feed(ref_reader *r, uint8_t c, const uint8_t **line, size_t *length)
{
    if (c == '$') {
        r->in_frame = 1;
        r->raw_length = 0;
        return 0;
    }
    if (!r->in_frame) {
        return 0;
    }
    if (c == '\n') {
        r->in_frame = 0;
        if (r->raw_length > TFC_LINE_MAX) {
            return 2;
        }
        *line = r->store;
        *length = r->raw_length;
        if (*length > 0 && r->store[*length - 1] == '\r') {
            --*length;
        }
        return 1;
    }
    if (r->raw_length < BUF_MAX) {
        r->store[r->raw_length] = c;
    }
    ++r->raw_length;
    return 0;
}

/* ---------------------------------------------------------------- reference request parser */
typedef struct {
    tfc_request_status status;
    uint32_t id;
    tfc_verb verb;
    uint8_t text[BUF_MAX];
    size_t text_length;
} ref_request;

static int hex_digit(uint8_t c)
{
    const char *p = c != 0 ? strchr("0123456789abcdefABCDEF", c) : NULL;
    if (p == NULL) {
        return -1;
    }
    const int v = (int)(p - "0123456789abcdefABCDEF");
    return v < 16 ? v : v - 6;
}

static int literal_in_request(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E && c != '$' && c != '*' && c != '%';
}

static void ref_parse(const uint8_t *line, size_t n, ref_request *out)
{
    out->id = 0;
    out->text_length = 0;
    out->verb = TFC_VERB_HELLO;
    if (n < 9 || line[n - 9] != '*') {
        out->status = TFC_REQUEST_CRC;
        return;
    }
    uint32_t crc = 0;
    for (size_t i = n - 8; i < n; ++i) {
        const int v = hex_digit(line[i]);
        if (v < 0) {
            out->status = TFC_REQUEST_CRC;
            return;
        }
        crc = crc * 16u + (uint32_t)v;
    }
    const size_t body = n - 9;
    if (crc != ref_crc(line, body)) {
        out->status = TFC_REQUEST_CRC;
        return;
    }
    const uint8_t *space1 = body > 0 ? memchr(line, ' ', body) : NULL;
    const uint8_t *space2 = NULL;
    int id_ok = 0;
    if (space1 != NULL) {
        const uint8_t *id = space1 + 1;
        const size_t rest = body - (size_t)(id - line);
        space2 = rest > 0 ? memchr(id, ' ', rest) : NULL;
        const size_t id_length = space2 != NULL ? (size_t)(space2 - id) : rest;
        uint64_t value = 0;
        id_ok = id_length >= 1 && id_length <= 9;
        for (size_t i = 0; id_ok && i < id_length; ++i) {
            id_ok = id[i] >= '0' && id[i] <= '9';
            value = value * 10u + (uint64_t)(id[i] - '0');
        }
        if (id_ok && value >= 1 && value <= TFC_ID_MAX) {
            out->id = (uint32_t)value;
        } else {
            id_ok = 0;
        }
    }
    if (space1 == NULL || space1 == line) {
        out->status = TFC_REQUEST_SYNTAX;
        return;
    }
    if (!id_ok) {
        out->status = TFC_REQUEST_BAD_ID;
        return;
    }
    /* The verb as a C string, when it holds no NUL (a NUL byte makes it no verb at all). */
    const size_t verb_length = (size_t)(space1 - line);
    char verb[8] = {0};
    if (verb_length < sizeof verb && memchr(line, 0, verb_length) == NULL) {
        memcpy(verb, line, verb_length);
    }
    if (strcmp(verb, "HELLO") == 0 || strcmp(verb, "STATS") == 0) {
        out->verb = verb[0] == 'H' ? TFC_VERB_HELLO : TFC_VERB_STATS;
        out->status = space2 != NULL ? TFC_REQUEST_VERB : TFC_REQUEST_OK;
        return;
    }
    if (strcmp(verb, "TOK") == 0) {
        out->verb = TFC_VERB_TOKENIZE;
    } else if (strcmp(verb, "RUN") == 0) {
        out->verb = TFC_VERB_RUN;
    } else {
        out->status = TFC_REQUEST_VERB;
        return;
    }
    const uint8_t *args = space2 != NULL ? space2 + 1 : line + body;
    const size_t args_length = (size_t)(line + body - args);
    size_t count = 0;
    for (size_t i = 0; i < args_length; ++i) {
        uint8_t c = args[i];
        if (c == '%') {
            if (args_length - i < 3 || hex_digit(args[i + 1]) < 0 || hex_digit(args[i + 2]) < 0) {
                out->status = TFC_REQUEST_SYNTAX;
                return;
            }
            c = (uint8_t)(hex_digit(args[i + 1]) * 16 + hex_digit(args[i + 2]));
            i += 2;
        } else if (!literal_in_request(c)) {
            out->status = TFC_REQUEST_SYNTAX;
            return;
        }
        if (count + 1 > TFC_TEXT_MAX) {
            out->status = TFC_REQUEST_TOO_LONG;
            return;
        }
        out->text[count++] = c;
    }
    out->text_length = count;
    out->status = TFC_REQUEST_OK;
}

/* ---------------------------------------------------------------- reference tokenizer */
static size_t vocab_lengths[TFC_VOCAB_WORDS];
static int32_t vocab_max_id;

static const tfc_vocabulary vocabulary = TFC_VOCABULARY_FROM_DATA;

/* The reference's own copy of the vocabulary, read from the generated arrays directly (not through
   the tokenizer's accessors): NUL-terminated words and int32 ids. */
static char vocab_storage[TFC_VOCAB_TEXT_BYTES + TFC_VOCAB_WORDS];
static const char *vocab_words[TFC_VOCAB_WORDS];
static int32_t vocab_ids[TFC_VOCAB_WORDS];

static void vocab_init(void)
{
    size_t at = 0;
    for (size_t k = 0; k < TFC_VOCAB_WORDS; ++k) {
        const size_t start = tfc_vocab_offsets[k], end = tfc_vocab_offsets[k + 1];
        memcpy(vocab_storage + at, tfc_vocab_text + start, end - start);
        vocab_storage[at + end - start] = '\0';
        vocab_words[k] = vocab_storage + at;
        vocab_ids[k] = (int32_t)tfc_vocab_ids[k];
        at += end - start + 1;
    }
}

static uint8_t word_bytes[256];     /* docs/tokenizer.md's word bytes: ASCII letters and digits, >= 0x80 */
static uint8_t reply_literals[256]; /* bytes tfc_frame_put_escaped leaves as they are */

static void tables_init(void)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (unsigned c = 0; c < 256; ++c) {
        word_bytes[c] = (uint8_t)(c >= 0x80 || (c != 0 && strchr(alnum, (int)c) != NULL));
        reply_literals[c] = (uint8_t)(c > 0x20 && c < 0x7F && strchr("$*%=,", (int)c) == NULL);
    }
}

static int word_byte(uint8_t c)
{
    return word_bytes[c];
}

static int32_t ref_word_id(const uint8_t *word, size_t n)
{
    uint8_t lowered[TFC_TEXT_MAX + 1];
    for (size_t i = 0; i < n; ++i) {
        lowered[i] = (word[i] >= 'A' && word[i] <= 'Z') ? (uint8_t)(word[i] - 'A' + 'a') : word[i];
    }
    for (size_t k = 0; k < TFC_VOCAB_WORDS; ++k) {
        if (vocab_lengths[k] == n && memcmp(vocab_words[k], lowered, n) == 0) {
            return vocab_ids[k];
        }
    }
    return TFC_OOV_ID;
}

/* All words' ids (untruncated) into `all`; returns their count. */
static size_t ref_words(const uint8_t *text, size_t n, int32_t *all)
{
    size_t count = 0, start = 0;
    int inside = 0;
    for (size_t i = 0; i <= n; ++i) {
        const int w = i < n && word_byte(text[i]);
        if (w && !inside) {
            start = i;
        } else if (!w && inside) {
            all[count++] = ref_word_id(text + start, i - start);
        }
        inside = w;
    }
    return count;
}

static FILE *tokens_file;
static unsigned long tokens_written;
static unsigned long long texts_tokenized, words_in_vocabulary, texts_over_max_length;

static void check_tokenizer(const uint8_t *text, size_t n)
{
    /* Exact-size copies: any read past the text or write past max_length ids is an ASan report. */
    uint8_t *copy = malloc(n > 0 ? n : 1);
    int32_t *ids = malloc(sizeof(int32_t) * TFC_MAX_LENGTH);
    CHECK(copy != NULL && ids != NULL, "out of memory");
    if (n > 0) {
        memcpy(copy, text, n);
    }
    const size_t words = tfc_tokenize(&vocabulary, copy, n, ids);
    int32_t all[TFC_TEXT_MAX];
    const size_t expected = ref_words(text, n, all);
    CHECK(words == expected, "tfc_tokenize counted %lu words, the reference %lu", (unsigned long)words,
          (unsigned long)expected);
    const size_t kept = expected < TFC_MAX_LENGTH ? expected : TFC_MAX_LENGTH;
    for (size_t k = 0; k < TFC_MAX_LENGTH; ++k) {
        const int32_t want = k < TFC_MAX_LENGTH - kept ? TFC_PAD_ID : all[k - (TFC_MAX_LENGTH - kept)];
        CHECK(ids[k] >= 0 && ids[k] <= vocab_max_id, "id %ld at %lu outside 0..%ld", (long)ids[k],
              (unsigned long)k, (long)vocab_max_id);
        CHECK(ids[k] == want, "id %ld at %lu, the reference %ld", (long)ids[k], (unsigned long)k, (long)want);
        words_in_vocabulary += ids[k] >= 2;
    }
    texts_over_max_length += expected > TFC_MAX_LENGTH;
    ++texts_tokenized;
    if (tokens_file != NULL && tokens_written < 20000) {
        for (size_t i = 0; i < n; ++i) {
            fprintf(tokens_file, "%02x", text[i]);
        }
        fprintf(tokens_file, " %lu", (unsigned long)words);
        for (size_t k = 0; k < TFC_MAX_LENGTH; ++k) {
            fprintf(tokens_file, "%c%ld", k == 0 ? ' ' : ',', (long)ids[k]);
        }
        fprintf(tokens_file, "\n");
        ++tokens_written;
    }
    free(copy);
    free(ids);
}

/* ---------------------------------------------------------------- replies: writer + reference */
#define EXPECT_MAX 65536u
#define TRUNCATED_FIELD " truncated=1"
/* Where the writer cuts: the tail keeps room for " truncated=1", '*', 8 hex digits, '\n', NUL. */
#define CUT_AT (TFC_REPLY_MAX - (sizeof TRUNCATED_FIELD + 10u))

static tfc_frame_writer writer;
static char expect[EXPECT_MAX];
static size_t expect_length;
static size_t expect_head; /* where the first field begins: the frame is never cut before it */
static unsigned long long replies, replies_truncated;

static void expect_put(const char *s, size_t n)
{
    CHECK(expect_length + n < EXPECT_MAX, "reference reply overflow");
    memcpy(expect + expect_length, s, n);
    expect_length += n;
}

static void w_begin(const char *verb, uint32_t id)
{
    char head[64];
    const int n = snprintf(head, sizeof head, "$%s %" PRIu32, verb, id);
    tfc_frame_begin(&writer, verb, id);
    expect_length = 0;
    expect_put(head, (size_t)n);
    expect_head = expect_length;
}

static void w_field(const char *key)
{
    tfc_frame_put_field(&writer, key);
    expect_put(" ", 1);
    expect_put(key, strlen(key));
    expect_put("=", 1);
}

static void w_raw(const char *s)
{
    tfc_frame_put(&writer, s);
    expect_put(s, strlen(s));
}

static void w_u64(uint64_t v)
{
    char digits[32];
    const int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    tfc_frame_put_u64(&writer, v);
    expect_put(digits, (size_t)n);
}

static void w_i32(int32_t v)
{
    char digits[32];
    const int n = snprintf(digits, sizeof digits, "%" PRId32, v);
    tfc_frame_put_i32(&writer, v);
    expect_put(digits, (size_t)n);
}

static void w_escaped(const uint8_t *bytes, size_t n)
{
    tfc_frame_put_escaped(&writer, bytes, n);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t c = bytes[i];
        if (reply_literals[c]) {
            expect_put((const char *)&bytes[i], 1);
        } else {
            const char e[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15u]};
            expect_put(e, 3);
        }
    }
}

static void w_finish(void)
{
    const size_t length = tfc_frame_finish(&writer);
    const char *t = writer.text;
    ++replies;
    CHECK(length < TFC_REPLY_MAX && length >= 11, "reply length %lu", (unsigned long)length);
    CHECK(t[length] == '\0' && strlen(t) == length, "reply not NUL-terminated at its length");
    CHECK(t[0] == '$' && t[length - 1] == '\n' && t[length - 10] == '*', "reply frame shape: %s", t);
    uint32_t crc = 0;
    for (size_t i = length - 9; i < length - 1; ++i) {
        const char *p = strchr(HEX_UPPER, t[i]);
        CHECK(t[i] != '\0' && p != NULL, "reply CRC digit %c", t[i]);
        crc = crc * 16u + (uint32_t)(p - HEX_UPPER);
    }
    CHECK(crc == ref_crc((const uint8_t *)t + 1, length - 11), "reply CRC does not verify: %s", t);
    for (size_t i = 1; i < length - 10; ++i) {
        CHECK(t[i] >= 0x20 && t[i] < 0x7F && t[i] != '$' && t[i] != '*', "reply byte 0x%02x at %lu",
              (unsigned)(uint8_t)t[i], (unsigned long)i);
    }
    /* The content against the reference: whole, or cut at the last separator at or before CUT_AT. */
    const size_t content = length - 10;
    if (expect_length <= CUT_AT) {
        CHECK(!writer.truncated && content == expect_length && memcmp(t, expect, content) == 0,
              "reply\n  %.*s\ndiffers from\n  %.*s", (int)content, t, (int)expect_length, expect);
    } else {
        size_t cut = CUT_AT;
        while (cut > expect_head && expect[cut] != ' ' && expect[cut] != ',') {
            --cut;
        }
        const size_t marker = sizeof TRUNCATED_FIELD - 1;
        CHECK(writer.truncated && content == cut + marker && memcmp(t, expect, cut) == 0 &&
                  memcmp(t + cut, TRUNCATED_FIELD, marker) == 0,
              "truncated reply\n  %.*s\nis not the reference cut at %lu\n  %.*s", (int)content, t,
              (unsigned long)cut, (int)cut, expect);
        ++replies_truncated;
    }
    /* The host's parse: VERB ID, then key=value words only; number lists hold numbers only. */
    size_t word = 0, start = 1;
    for (size_t i = 1; i <= content; ++i) {
        if (i < content && t[i] != ' ') {
            continue;
        }
        CHECK(i > start, "an empty word in the reply %s", t);
        if (word == 1) {
            for (size_t k = start; k < i; ++k) {
                CHECK(t[k] >= '0' && t[k] <= '9', "the reply's id is not a number: %s", t);
            }
        } else if (word >= 2) {
            const char *eq = memchr(t + start, '=', i - start);
            CHECK(eq != NULL && eq > t + start, "a reply field is not key=value: %s", t);
            for (const char *v = eq + 1; v < t + i; ++v) {
                CHECK(*v != ',' || (v > eq + 1 && v + 1 < t + i && v[1] != ','), "an empty list item: %s", t);
            }
        }
        ++word;
        start = i + 1;
    }
    CHECK(word >= 2, "the reply has no id: %s", t);
}

/* ---------------------------------------------------------------- replies the harness sends */
static const char *const LABELS[] = {
    "lights_on", "play music", "a=b,c", "%41", "caf\xc3\xa9", "*$\n\r", "", "x y  z", "\xff\x01\x7f",
};
#define LABEL_COUNT (sizeof LABELS / sizeof LABELS[0])

static const char *const LAYER_NAMES[] = {
    "FULLY_CONNECTED", "TFC_DKP_EMBEDDING_BAG", "MEAN", "ADD", "TFC_LSTM", "QUANTIZE", "X",
};

static int32_t random_i32(void)
{
    switch (below(6)) {
    case 0:
        return INT32_MIN;
    case 1:
        return INT32_MAX;
    case 2:
        return -1;
    case 3:
        return 0;
    case 4:
        return (int32_t)(below(256)) - 128;
    default:
        return (int32_t)(uint32_t)rnd();
    }
}

static uint64_t random_u64(void)
{
    switch (below(5)) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX;
    case 2:
        return below(1000);
    case 3: {
        const unsigned shift = (unsigned)below(64);
        return rnd() >> shift;
    }
    default:
        return rnd();
    }
}

static void reply_to(tfc_request_status status, const tfc_request *request, const int32_t *ids, size_t words)
{
    if (status != TFC_REQUEST_OK) {
        w_begin("ERR", request->id);
        w_field("code");
        w_raw(tfc_request_status_code(status));
        if (chance(30)) {
            w_field("detail");
            w_raw("line");
        }
        w_finish();
        return;
    }
    switch (request->verb) {
    case TFC_VERB_HELLO:
        w_begin("BANNER", request->id);
        w_field("protocol");
        w_u64(TFC_PROTOCOL_VERSION);
        w_field("model");
        w_raw("8ceb103bdaff2cf912011c011cc61e542d0c440acdc1dc3a7155ffa4b3aec5ee");
        w_field("clock");
        w_u64(random_u64());
        w_field("error");
        w_i32(random_i32());
        break;
    case TFC_VERB_TOKENIZE:
        w_begin("TOK", request->id);
        w_field("words");
        w_u64(words);
        w_field("ids");
        for (size_t k = 0; k < TFC_MAX_LENGTH; ++k) {
            if (k > 0) {
                w_raw(",");
            }
            w_i32(ids[k]);
        }
        break;
    case TFC_VERB_RUN: {
        const size_t labels = chance(10) ? 1 + below(400) : 1 + below(12);
        const char *label = LABELS[below(LABEL_COUNT)];
        w_begin("OUT", request->id);
        w_field("intent");
        w_u64(below(labels));
        w_field("label");
        w_escaped((const uint8_t *)label, strlen(label));
        w_field("count");
        w_u64(random_u64());
        w_field("scores");
        for (size_t k = 0; k < labels; ++k) {
            if (k > 0) {
                w_raw(",");
            }
            w_i32((int32_t)below(256) - 128);
        }
        const size_t layers = below(chance(10) ? 150 : 6);
        if (layers > 0) {
            w_field("layers");
            for (size_t k = 0; k < layers; ++k) {
                if (k > 0) {
                    w_raw(",");
                }
                w_u64(random_u64());
            }
        }
        break;
    }
    case TFC_VERB_STATS: {
        const size_t layers = below(chance(10) ? 200 : 8);
        w_begin("STATS", request->id);
        w_field("flash");
        w_u64(random_u64());
        w_field("stack");
        w_u64(random_u64());
        w_field("layer_names");
        for (size_t k = 0; k < layers; ++k) {
            if (k > 0) {
                w_raw(",");
            }
            w_raw(LAYER_NAMES[below(sizeof LAYER_NAMES / sizeof LAYER_NAMES[0])]);
        }
        break;
    }
    }
    w_finish();
}

/* A reply of random fields: numbers, lists, escaped blobs of any bytes, some long. */
static void random_reply(void)
{
    static const char *const verbs[] = {"OUT", "ERR", "BANNER", "STATS", "TOK"};
    static const char *const keys[] = {"a", "count", "scores", "label", "layers", "layer_names", "k_2"};
    uint8_t blob[3000];
    /* (one draw per statement: the order of a call's arguments is unspecified) */
    const char *verb = verbs[below(5)];
    w_begin(verb, chance(20) ? UINT32_MAX : (uint32_t)below(TFC_ID_MAX + 1u));
    const size_t fields = below(10);
    for (size_t f = 0; f < fields; ++f) {
        w_field(keys[below(sizeof keys / sizeof keys[0])]);
        switch (below(5)) {
        case 0:
            w_u64(random_u64());
            break;
        case 1:
            w_i32(random_i32());
            break;
        case 2: {
            const size_t n = chance(15) ? below(sizeof blob) : below(40);
            for (size_t i = 0; i < n; ++i) {
                blob[i] = (uint8_t)rnd();
            }
            w_escaped(blob, n);
            break;
        }
        case 3: {
            const size_t n = chance(30) ? below(700) : below(20);
            for (size_t i = 0; i < n; ++i) {
                if (i > 0) {
                    w_raw(",");
                }
                w_i32(random_i32());
            }
            break;
        }
        default: {
            const size_t n = chance(30) ? below(300) : below(10);
            for (size_t i = 0; i < n; ++i) {
                if (i > 0) {
                    w_raw(",");
                }
                w_u64(random_u64());
            }
            break;
        }
        }
    }
    w_finish();
}

/* ---------------------------------------------------------------- feeding a stream through both */
static tfc_line_reader reader;
static ref_reader reference_reader;
static tfc_request request;
static ref_request reference;
static unsigned long long status_counts[6], events_frame, events_too_long;

typedef struct {
    int seen;               /* the last event of the stream */
    int event;              /* 1 frame, 2 too long */
    tfc_request_status status;
    size_t text_length;
} outcome;

static void handle_frame(const uint8_t *line, size_t length, outcome *last)
{
    /* The parser reads an exact-size copy of the line: a read past it is an ASan report. */
    uint8_t *copy = malloc(length > 0 ? length : 1);
    CHECK(copy != NULL, "out of memory");
    if (length > 0) {
        memcpy(copy, line, length);
    }
    const tfc_request_status status = tfc_parse_request(copy, length, &request);
    free(copy);
    ref_parse(line, length, &reference);
    CHECK(status == reference.status, "tfc_parse_request says %s, the reference %s", tfc_request_status_code(status),
          tfc_request_status_code(reference.status));
    CHECK(request.id == reference.id, "tfc_parse_request's id %lu, the reference's %lu", (unsigned long)request.id,
          (unsigned long)reference.id);
    CHECK(request.id <= TFC_ID_MAX, "id %lu above TFC_ID_MAX", (unsigned long)request.id);
    ++status_counts[status];
    int32_t ids[TFC_MAX_LENGTH] = {0};
    size_t words = 0;
    if (status == TFC_REQUEST_OK) {
        CHECK(request.verb == reference.verb, "verb %d, the reference %d", (int)request.verb, (int)reference.verb);
        CHECK(request.text_length == reference.text_length && request.text_length <= TFC_TEXT_MAX &&
                  memcmp(request.text, reference.text, request.text_length) == 0,
              "the text differs from the reference's");
        if (request.verb == TFC_VERB_TOKENIZE || request.verb == TFC_VERB_RUN) {
            check_tokenizer(request.text, request.text_length);
            words = tfc_tokenize(&vocabulary, request.text, request.text_length, ids);
        }
    }
    reply_to(status, &request, ids, words);
    last->seen = 1;
    last->event = 1;
    last->status = status;
    last->text_length = request.text_length;
}

static void feed(const uint8_t *bytes, size_t n, outcome *last)
{
    last->seen = 0;
    for (size_t i = 0; i < n; ++i) {
        const tfc_line_event event = tfc_line_feed(&reader, bytes[i]);
        const uint8_t *line = NULL;
        size_t length = 0;
        const int ref_event = ref_feed(&reference_reader, bytes[i], &line, &length);
        CHECK((int)event == ref_event, "tfc_line_feed event %d at byte %lu, the reference %d", (int)event,
              (unsigned long)i, ref_event);
        if (event == TFC_LINE_TOO_LONG) {
            ++events_too_long;
            ++status_counts[TFC_REQUEST_TOO_LONG];
            reply_to(TFC_REQUEST_TOO_LONG, &(tfc_request){TFC_VERB_HELLO, 0, {0}, 0}, NULL, 0);
            last->seen = 1;
            last->event = 2;
        } else if (event == TFC_LINE_FRAME) {
            ++events_frame;
            CHECK(reader.length == length && memcmp(reader.line, line, length) == 0,
                  "tfc_line_feed's frame differs from the reference reader's");
            handle_frame(reader.line, reader.length, last);
        }
    }
}

#ifndef TFC_LIBFUZZER
/* ---------------------------------------------------------------- byte buffers */
typedef struct {
    uint8_t b[BUF_MAX];
    size_t n;
} buffer;

static void buf_byte(buffer *x, uint8_t c)
{
    if (x->n < BUF_MAX) {
        x->b[x->n++] = c;
    }
}

static void buf_bytes(buffer *x, const void *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        buf_byte(x, ((const uint8_t *)data)[i]);
    }
}

static void buf_str(buffer *x, const char *s)
{
    buf_bytes(x, s, strlen(s));
}

static void buf_insert(buffer *x, size_t at, uint8_t c)
{
    if (x->n >= BUF_MAX || at > x->n) {
        return;
    }
    memmove(x->b + at + 1, x->b + at, x->n - at);
    x->b[at] = c;
    ++x->n;
}

static void buf_erase(buffer *x, size_t at)
{
    if (at < x->n) {
        memmove(x->b + at, x->b + at + 1, x->n - at - 1);
        --x->n;
    }
}

static const char HEX_LOWER[] = "0123456789abcdef";

/* ---------------------------------------------------------------- generating frames */
static unsigned long long frames_expected_ok;

static const char SEPARATORS[] = " \t,.!?'-_/\\\"$*%=\r\n:;()[]{}<>@#&+~`|^";
static const char *const UNICODE[] = {
    "\xc3\x9c", "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\xc2\xa0", "\xe2\x80\x99",
};

static void put_word(buffer *text)
{
    switch (below(8)) {
    case 0:
    case 1:
    case 2:
    case 3: { /* a vocabulary word, in some case */
        const char *w = vocab_words[below(TFC_VOCAB_WORDS)];
        const int mode = (int)below(3);
        for (size_t i = 0; w[i] != '\0'; ++i) {
            uint8_t c = (uint8_t)w[i];
            if (c >= 'a' && c <= 'z' && (mode == 1 || (mode == 2 && chance(50)))) {
                c = (uint8_t)(c - 'a' + 'A');
            }
            buf_byte(text, c);
        }
        break;
    }
    case 4: { /* a random ASCII word */
        const size_t n = 1 + below(chance(5) ? 40 : 8);
        for (size_t i = 0; i < n; ++i) {
            buf_byte(text, (uint8_t)"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[below(62)]);
        }
        break;
    }
    case 5: { /* digits */
        const size_t n = 1 + below(6);
        for (size_t i = 0; i < n; ++i) {
            buf_byte(text, (uint8_t)('0' + below(10)));
        }
        break;
    }
    case 6: /* unicode, alone or glued to a vocabulary word */
        buf_str(text, UNICODE[below(sizeof UNICODE / sizeof UNICODE[0])]);
        if (chance(50)) {
            buf_str(text, vocab_words[below(TFC_VOCAB_WORDS)]);
        }
        break;
    default: { /* bytes of any value */
        const size_t n = 1 + below(4);
        for (size_t i = 0; i < n; ++i) {
            buf_byte(text, (uint8_t)rnd());
        }
        break;
    }
    }
}

static void put_separator(buffer *text)
{
    const size_t n = 1 + (chance(20) ? below(4) : 0);
    for (size_t i = 0; i < n; ++i) {
        if (chance(8)) {
            buf_byte(text, (uint8_t)(chance(50) ? below(0x20) : 0x7F));
        } else {
            buf_byte(text, (uint8_t)SEPARATORS[below(sizeof SEPARATORS - 1)]);
        }
    }
}

static void random_text(buffer *text)
{
    text->n = 0;
    switch (below(20)) {
    case 0: /* empty */
        break;
    case 1: /* separators only */
        for (size_t k = below(6); k-- > 0;) {
            put_separator(text);
        }
        break;
    case 2: { /* random bytes */
        const size_t n = below(80);
        for (size_t i = 0; i < n; ++i) {
            buf_byte(text, (uint8_t)rnd());
        }
        break;
    }
    case 3: { /* near and at TFC_TEXT_MAX */
        static const size_t lengths[] = {TFC_TEXT_MAX - 1, TFC_TEXT_MAX, TFC_TEXT_MAX + 1, TFC_TEXT_MAX + 40};
        const size_t n = lengths[below(4)];
        while (text->n < n) {
            put_word(text);
            put_separator(text);
        }
        text->n = n;
        break;
    }
    default: { /* words and separators */
        const size_t words = chance(10) ? TFC_MAX_LENGTH + below(10) : below(TFC_MAX_LENGTH + 2);
        if (chance(30)) {
            put_separator(text);
        }
        for (size_t k = 0; k < words; ++k) {
            if (k > 0) {
                put_separator(text);
            }
            put_word(text);
        }
        if (chance(30)) {
            put_separator(text);
        }
        break;
    }
    }
}

static void escape_text(buffer *out, const buffer *text)
{
    const int lower = chance(20);
    const int extra = chance(20); /* escape some literal bytes too: the parser must take them */
    for (size_t i = 0; i < text->n; ++i) {
        const uint8_t c = text->b[i];
        if (literal_in_request(c) && !(extra && chance(30))) {
            buf_byte(out, c);
        } else {
            const char *hex = lower ? HEX_LOWER : HEX_UPPER;
            buf_byte(out, '%');
            buf_byte(out, (uint8_t)hex[c >> 4]);
            buf_byte(out, (uint8_t)hex[c & 15u]);
        }
    }
}

static void byte_mutation(buffer *x)
{
    if (x->n == 0) {
        buf_byte(x, (uint8_t)rnd());
        return;
    }
    const size_t at = below(x->n);
    switch (below(9)) {
    case 0:
        x->b[at] ^= (uint8_t)(1u << below(8));
        break;
    case 1:
        x->b[at] = (uint8_t)rnd();
        break;
    case 2:
        buf_erase(x, at);
        break;
    case 3:
        buf_insert(x, at, (uint8_t)rnd());
        break;
    case 4:
        buf_insert(x, at, '$');
        break;
    case 5:
        buf_insert(x, at, '\n');
        break;
    case 6:
        buf_insert(x, at, chance(50) ? 0x00 : 0xFF);
        break;
    case 7:
        x->n = at; /* truncated */
        break;
    default: { /* a span repeated */
        const size_t n = below(x->n - at) + 1;
        for (size_t i = 0; i < n && i < 64; ++i) {
            buf_insert(x, at + n + i, x->b[at + i]);
        }
        break;
    }
    }
}

static const char *const VERBS[] = {"HELLO", "TOK", "RUN", "STATS"};

/* One iteration: a frame, valid or mutated, with garbage before it, through everything. */
static void one_frame(void)
{
    static buffer text, escaped, body, chunk;
    const tfc_verb verb = (tfc_verb)below(4);
    char verb_text[16];
    char id_text[32];
    uint32_t id;
    int has_args = verb == TFC_VERB_TOKENIZE || verb == TFC_VERB_RUN;
    int mutated = 0;
    strcpy(verb_text, VERBS[verb]);

    switch (below(6)) {
    case 0:
        id = 1;
        break;
    case 1:
        id = TFC_ID_MAX;
        break;
    default:
        id = 1 + (uint32_t)below(chance(50) ? 1000 : TFC_ID_MAX);
        break;
    }
    if (chance(3)) { /* leading zeros, 9 digits at most: still the same id */
        snprintf(id_text, sizeof id_text, "%09" PRIu32, id);
    } else {
        snprintf(id_text, sizeof id_text, "%" PRIu32, id);
    }
    text.n = 0;
    escaped.n = 0;
    if (has_args) {
        random_text(&text);
        escape_text(&escaped, &text);
    }

    /* Mutations of the parts, under a correct checksum. */
    if (chance(40)) {
        mutated = 1;
        switch (below(12)) {
        case 0: { /* a bad id */
            static const char *const bad[] = {"0", "000000000", "1000000000", "4294967296", "12345678901", "abc",
                                              "", "12a", "-5", "+5", " 5", "0x10", "1 2", "99999999999999999999"};
            strcpy(id_text, bad[below(sizeof bad / sizeof bad[0])]);
            break;
        }
        case 1: { /* a wrong verb */
            static const char *const bad[] = {"", "hello", "tok", "FOO", "HELLOX", "TO", "RUNN", "STAT", "OUT",
                                              "HELL\xc3\x96", "T\tOK", "ERR"};
            const size_t k = below(sizeof bad / sizeof bad[0]);
            strcpy(verb_text, bad[k]);
            break;
        }
        case 2: /* HELLO or STATS with an argument, TOK or RUN without */
            has_args = !has_args;
            escaped.n = 0;
            if (has_args && chance(50)) {
                buf_str(&escaped, "x");
            }
            break;
        case 3:
        case 4: { /* a bad escape */
            static const char *const bad[] = {"%", "%4", "%G0", "%0G", "%%41", "%4%", "% 41", "%-1", "%+1"};
            const char *e = bad[below(sizeof bad / sizeof bad[0])];
            const size_t at = below(escaped.n + 1);
            for (size_t i = strlen(e); i-- > 0;) {
                buf_insert(&escaped, at, (uint8_t)e[i]);
            }
            if (chance(30)) {
                escaped.n = 0;
                buf_str(&escaped, e);
            }
            has_args = 1;
            break;
        }
        case 5: { /* a byte that must be escaped, raw */
            static const uint8_t raw[] = {0x00, 0xFF, 0x80, '\t', '\r', 0x7F, '*', 0x1B};
            const size_t at = below(escaped.n + 1);
            buf_insert(&escaped, at, raw[below(sizeof raw)]);
            has_args = 1;
            break;
        }
        case 6: { /* a line of TFC_LINE_MAX bytes (or 1 more, or far more) with the checksum */
            const size_t head = strlen(verb_text) + 1 + strlen(id_text) + 1 + 9;
            const size_t target = (chance(40) ? TFC_LINE_MAX : TFC_LINE_MAX + 1 + below(chance(50) ? 2 : 1500));
            has_args = 1;
            escaped.n = 0;
            while (head + escaped.n + 3 <= target && chance(70)) {
                buf_str(&escaped, "%61");
            }
            while (head + escaped.n < target) {
                buf_byte(&escaped, 'a');
            }
            break;
        }
        case 7: /* spaces doubled, leading, trailing */
            switch (below(3)) {
            case 0:
                memmove(id_text + 1, id_text, strlen(id_text) + 1);
                id_text[0] = ' ';
                break;
            case 1:
                memmove(verb_text + 1, verb_text, strlen(verb_text) + 1);
                verb_text[0] = ' ';
                break;
            default:
                buf_insert(&escaped, 0, ' ');
                has_args = 1;
                break;
            }
            break;
        default: { /* bytes of the body changed, the checksum then computed over them */
            mutated = 2;
            break;
        }
        }
    }
    body.n = 0;
    buf_bytes(&body, verb_text, strlen(verb_text));
    if (!(mutated == 1 && chance(3))) { /* now and then no id at all */
        buf_byte(&body, ' ');
        buf_str(&body, id_text);
    }
    if (has_args) {
        buf_byte(&body, ' ');
        buf_bytes(&body, escaped.b, escaped.n);
    }
    if (mutated == 2) {
        for (size_t k = 1 + below(3); k-- > 0;) {
            byte_mutation(&body);
        }
    }

    /* The checksum, sometimes wrong or malformed. */
    char crc_text[16];
    const char *hex = chance(10) ? HEX_LOWER : HEX_UPPER;
    const uint32_t crc = ref_crc(body.b, body.n);
    for (int k = 0; k < 8; ++k) {
        crc_text[k] = hex[(crc >> (28 - 4 * k)) & 15u];
    }
    crc_text[8] = '\0';
    int crc_mutated = 0;
    if (chance(8)) {
        crc_mutated = 1;
        switch (below(5)) {
        case 0: { /* one digit changed to another */
            const size_t k = below(8);
            crc_text[k] = hex[((size_t)hex_digit((uint8_t)crc_text[k]) + 1 + below(15)) % 16u];
            break;
        }
        case 1:
            crc_text[7] = '\0'; /* 7 digits */
            break;
        case 2:
            strcat(crc_text, "0"); /* 9 digits */
            break;
        case 3: {
            const size_t k = below(8);
            crc_text[k] = "Gg x-"[below(5)];
            break;
        }
        default:
            crc_text[0] = '\0';
            break;
        }
    }

    chunk.n = 0;
    if (chance(25)) { /* garbage first */
        for (size_t k = below(24); k-- > 0;) {
            buf_byte(&chunk, chance(80) ? (uint8_t)rnd() : (uint8_t)"\n\r$* "[below(5)]);
        }
    }
    const size_t frame_start = chunk.n;
    buf_byte(&chunk, '$');
    buf_bytes(&chunk, body.b, body.n);
    if (!(crc_mutated && chance(20))) {
        buf_byte(&chunk, '*');
    }
    buf_str(&chunk, crc_text);
    if (chance(20)) {
        buf_byte(&chunk, '\r');
    }
    buf_byte(&chunk, '\n');
    const size_t line_bytes = chunk.n - frame_start - 2; /* between '$' and '\n', '\r' included */
    int chunk_mutated = 0;
    if (!mutated && !crc_mutated && chance(15)) {
        chunk_mutated = 1;
        for (size_t k = 1 + below(3); k-- > 0;) {
            byte_mutation(&chunk);
        }
    }

    current_input = chunk.b;
    current_input_length = chunk.n;
    outcome last;
    feed(chunk.b, chunk.n, &last);

    if (!mutated && !crc_mutated && !chunk_mutated) {
        /* Valid and whole: the last event is this frame, parsed back to what was sent. */
        CHECK(last.seen, "a valid frame gave no event");
        if (line_bytes > TFC_LINE_MAX) {
            CHECK(last.event == 2, "a line of %lu bytes was not too long", (unsigned long)line_bytes);
            return;
        }
        CHECK(last.event == 1, "a line of %lu bytes was too long", (unsigned long)line_bytes);
        if (text.n > TFC_TEXT_MAX) {
            CHECK(last.status == TFC_REQUEST_TOO_LONG, "a text of %lu bytes gave %s", (unsigned long)text.n,
                  tfc_request_status_code(last.status));
            return;
        }
        CHECK(last.status == TFC_REQUEST_OK, "a valid frame gave %s", tfc_request_status_code(last.status));
        CHECK(request.verb == verb && request.id == id, "a valid frame parsed to verb %d id %lu", (int)request.verb,
              (unsigned long)request.id);
        CHECK(request.text_length == text.n && memcmp(request.text, text.b, text.n) == 0,
              "a valid frame's text came back different");
        ++frames_expected_ok;
    } else if (mutated == 1 && line_bytes == TFC_LINE_MAX && !crc_mutated && !chunk_mutated) {
        CHECK(last.seen && last.event == 1, "a line of exactly TFC_LINE_MAX bytes was not a frame");
    }
}

int main(int argc, char **argv)
{
    const unsigned long long frames = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000ull;
    const unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1ull;
    crc_init();
    tables_init();
    vocab_init();
    for (size_t k = 0; k < TFC_VOCAB_WORDS; ++k) {
        vocab_lengths[k] = strlen(vocab_words[k]);
        vocab_max_id = vocab_ids[k] > vocab_max_id ? vocab_ids[k] : vocab_max_id;
        CHECK(k == 0 || strcmp(vocab_words[k - 1], vocab_words[k]) < 0, "the vocabulary is not sorted");
    }
    if (vocab_max_id < TFC_OOV_ID) {
        vocab_max_id = TFC_OOV_ID;
    }
    if (argc > 3) {
        tokens_file = fopen(argv[3], "w");
        CHECK(tokens_file != NULL, "cannot write %s", argv[3]);
    }
    /* The CRC against zlib's check value, and the harness's against the table. */
    CHECK(ref_crc((const uint8_t *)"123456789", 9) == 0xCBF43926u, "table CRC-32");
    CHECK(tfc_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u, "tfc_crc32 check value");
    CHECK(tfc_crc32(NULL, 0) == 0u, "tfc_crc32 of nothing");

    current_seed = seed;
    rng_state = seed;
    tfc_line_reader_init(&reader);
    for (current_iteration = 0; current_iteration < frames; ++current_iteration) {
        one_frame();
        current_input = NULL;
        current_input_length = 0;
        if (current_iteration % 16u == 0) {
            random_reply();
        }
        if (current_iteration % 4096u == 0) { /* the CRC of random bytes, both ways */
            uint8_t bytes[300];
            const size_t n = below(sizeof bytes);
            for (size_t i = 0; i < n; ++i) {
                bytes[i] = (uint8_t)rnd();
            }
            CHECK(tfc_crc32(bytes, n) == ref_crc(bytes, n), "tfc_crc32 differs from the table CRC");
        }
    }
    if (tokens_file != NULL) {
        fclose(tokens_file);
    }
    printf("frames=%llu seed=%llu events_frame=%llu events_too_long=%llu valid_frames_checked=%llu\n", frames, seed,
           events_frame, events_too_long, frames_expected_ok);
    printf("status ok=%llu crc=%llu syntax=%llu bad-id=%llu verb=%llu too-long=%llu\n",
           status_counts[TFC_REQUEST_OK], status_counts[TFC_REQUEST_CRC], status_counts[TFC_REQUEST_SYNTAX],
           status_counts[TFC_REQUEST_BAD_ID], status_counts[TFC_REQUEST_VERB], status_counts[TFC_REQUEST_TOO_LONG]);
    printf("texts_tokenized=%llu texts_over_max_length=%llu ids_in_vocabulary=%llu replies=%llu "
           "replies_truncated=%llu\n",
           texts_tokenized, texts_over_max_length, words_in_vocabulary, replies, replies_truncated);
    return 0;
}

#else /* TFC_LIBFUZZER */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        crc_init();
        tables_init();
        vocab_init();
        for (size_t k = 0; k < TFC_VOCAB_WORDS; ++k) {
            vocab_lengths[k] = strlen(vocab_words[k]);
            vocab_max_id = vocab_ids[k] > vocab_max_id ? vocab_ids[k] : vocab_max_id;
        }
        if (vocab_max_id < TFC_OOV_ID) {
            vocab_max_id = TFC_OOV_ID;
        }
        ready = 1;
    }
    /* The reply contents draw on the generator: seeded from the input, so runs repeat. */
    rng_state = ref_crc(data, size);
    current_input = data;
    current_input_length = size;
    tfc_line_reader_init(&reader);
    reference_reader.in_frame = 0;
    reference_reader.raw_length = 0;
    outcome last;
    feed(data, size, &last);
    if (size > 0) {
        random_reply();
    }
    return 0;
}

#endif /* TFC_LIBFUZZER */
