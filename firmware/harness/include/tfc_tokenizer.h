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

/* The vocabulary a tokenizer reads: `count` words sorted by their bytes (unsigned, as strcmp)
   with their ids. */
typedef struct {
    const char *const *words;
    const int32_t *ids;
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

#ifdef __cplusplus
}
#endif

#endif /* TFC_TOKENIZER_H */
