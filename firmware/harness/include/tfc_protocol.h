/*
 * The serial protocol between a host and a board (docs/protocol.md): framing, checksums,
 * escaping and request parsing, with no I/O and no heap, so the host build can fuzz it.
 *
 * A frame is one line: '$' VERB ' ' ID [' ' ARGS] '*' CRC '\n', where CRC is the CRC-32
 * (IEEE 802.3, as zlib) of the bytes between '$' and '*', in 8 hex digits. Bytes outside a
 * frame are ignored, and a '$' always starts a new frame, so a reader resynchronises after
 * garbage at the next '$'.
 */
#ifndef TFC_PROTOCOL_H
#define TFC_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFC_PROTOCOL_VERSION 1
#define TFC_TEXT_MAX 512u       /* bytes of an utterance after unescaping */
#define TFC_LINE_MAX 1600u      /* bytes of a request between '$' and '\n' */
#define TFC_ID_MAX 999999999u   /* request ids are 1..TFC_ID_MAX; 0 marks the board's own messages */

uint32_t tfc_crc32(const uint8_t *data, size_t length);

/* ---- Line reader: feeds bytes one at a time, hands back whole frames */
typedef enum {
    TFC_LINE_NONE = 0,   /* nothing complete yet */
    TFC_LINE_FRAME,      /* a frame: `line` (after '$', without "\r\n") is valid until the next feed */
    TFC_LINE_TOO_LONG    /* a frame longer than TFC_LINE_MAX ended; its bytes were dropped */
} tfc_line_event;

typedef struct {
    uint8_t line[TFC_LINE_MAX];
    size_t length;
    int in_frame;
    int overflowed;
} tfc_line_reader;

void tfc_line_reader_init(tfc_line_reader *reader);
tfc_line_event tfc_line_feed(tfc_line_reader *reader, uint8_t byte);

/* ---- Requests */
typedef enum {
    TFC_VERB_HELLO = 0, /* HELLO id: answer with the banner */
    TFC_VERB_TOKENIZE,  /* TOK id text: answer with the token ids */
    TFC_VERB_RUN,       /* RUN id text: tokenise, run the model, answer with intent, scores and counts */
    TFC_VERB_STATS      /* STATS id: answer with memory figures */
} tfc_verb;

typedef enum {
    TFC_REQUEST_OK = 0,
    TFC_REQUEST_CRC,       /* the checksum is missing, malformed or wrong */
    TFC_REQUEST_SYNTAX,    /* no verb, no id, a byte that must be escaped, a bad %XX escape */
    TFC_REQUEST_BAD_ID,    /* the id is not a decimal number in 1..TFC_ID_MAX */
    TFC_REQUEST_VERB,      /* unknown verb, or arguments where the verb takes none */
    TFC_REQUEST_TOO_LONG   /* the text is longer than TFC_TEXT_MAX bytes */
} tfc_request_status;

typedef struct {
    tfc_verb verb;
    uint32_t id; /* 0 when the id could not be read */
    uint8_t text[TFC_TEXT_MAX];
    size_t text_length;
} tfc_request;

/* Parses the frame `line` (as handed out by tfc_line_feed). On an error `request->id` holds the
   request's id when it could be read (so the answer can name it), else 0. */
tfc_request_status tfc_parse_request(const uint8_t *line, size_t length, tfc_request *request);
const char *tfc_request_status_code(tfc_request_status status);

/* ---- Replies: a bounded writer; an overlong frame is cut and flagged, never overrun */
#define TFC_REPLY_MAX 2048u

typedef struct {
    char text[TFC_REPLY_MAX];
    size_t length;
    int truncated;
} tfc_frame_writer;

void tfc_frame_begin(tfc_frame_writer *w, const char *verb, uint32_t id);
void tfc_frame_put(tfc_frame_writer *w, const char *s);             /* raw text (no escaping) */
void tfc_frame_put_field(tfc_frame_writer *w, const char *key);     /* " key=" */
void tfc_frame_put_u64(tfc_frame_writer *w, uint64_t value);
void tfc_frame_put_i32(tfc_frame_writer *w, int32_t value);
void tfc_frame_put_escaped(tfc_frame_writer *w, const uint8_t *bytes, size_t length);
/* Appends "*CRC\n"; returns the frame's length. */
size_t tfc_frame_finish(tfc_frame_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* TFC_PROTOCOL_H */
