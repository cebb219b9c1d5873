/*
 * The on-device tokenizer of docs/tokenizer.md, over the generated tokenizer_data.{h,c}
 * (the vocabulary in strcmp order with each word's id): the same ids as
 * tfcompress.tokenizer.WordTokenizer, byte for byte.
 */
#ifndef TFC_TOKENIZER_H
#define TFC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The vocabulary a tokenizer reads, as tokenizer_data.h stores it: `count` words sorted by their
   bytes (unsigned, as strcmp) and concatenated in `text`; word i spans offsets[i] to offsets[i + 1];
   ids[i] is its id. Offsets and ids are unsigned integers of `offset_bytes` and `id_bytes` (2 or 4). */
typedef struct {
    const char *text;
    const void *offsets;
    const void *ids;
    uint8_t offset_bytes;
    uint8_t id_bytes;
    int32_t count;
    int32_t max_length;
    int32_t pad_id;
    int32_t oov_id;
} tfc_vocabulary;

/* Writes vocab->max_length ids to `ids` (words truncated at the end, padding at the front) and
   returns the number of words in `text`, before truncation. */
size_t tfc_tokenize(const tfc_vocabulary *vocab, const uint8_t *text, size_t length, int32_t *ids);

/* The id of one word of `length` bytes (lowercased on the fly), or vocab->oov_id. */
int32_t tfc_word_id(const tfc_vocabulary *vocab, const uint8_t *word, size_t length);

/* The vocabulary of the generated tokenizer_data.h, for a file that includes it. */
#define TFC_VOCABULARY_FROM_DATA                                                                     \
    {                                                                                                  \
        tfc_vocab_text, tfc_vocab_offsets, tfc_vocab_ids, TFC_VOCAB_OFFSET_BYTES, TFC_VOCAB_ID_BYTES,  \
            TFC_VOCAB_WORDS, TFC_MAX_LENGTH, TFC_PAD_ID, TFC_OOV_ID                                    \
    }

/* Word i of the vocabulary: its bytes and length. */
const char *tfc_vocab_word(const tfc_vocabulary *vocab, int32_t i, size_t *length);
int32_t tfc_vocab_id(const tfc_vocabulary *vocab, int32_t i);

#ifdef __cplusplus
}
#endif

#endif /* TFC_TOKENIZER_H */
