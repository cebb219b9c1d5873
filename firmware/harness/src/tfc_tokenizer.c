/* docs/tokenizer.md in C: word bytes, ASCII lowercasing, binary search, truncate, pad in front. */
#include "tfc_tokenizer.h"

static int is_word_byte(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b >= 0x80;
}

static uint8_t lower(uint8_t b)
{
    return (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 32) : b;
}

/* strcmp order between the lowercased word and a vocabulary entry. */
static int compare(const uint8_t *word, size_t length, const char *entry)
{
    const unsigned char *e = (const unsigned char *)entry;
    for (size_t i = 0; i < length; ++i) {
        if (e[i] == 0) {
            return 1;
        }
        const uint8_t c = lower(word[i]);
        if (c != e[i]) {
            return c < e[i] ? -1 : 1;
        }
    }
    return e[length] == 0 ? 0 : -1;
}

int32_t tfc_word_id(const tfc_vocabulary *vocab, const uint8_t *word, size_t length)
{
    int32_t lo = 0, hi = vocab->count - 1;
    while (lo <= hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        const int c = compare(word, length, vocab->words[mid]);
        if (c == 0) {
            return vocab->ids[mid];
        }
        if (c < 0) {
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return vocab->oov_id;
}

size_t tfc_tokenize(const tfc_vocabulary *vocab, const uint8_t *text, size_t length, int32_t *ids)
{
    const size_t max_length = vocab->max_length > 0 ? (size_t)vocab->max_length : 0;
    size_t words = 0;
    size_t i = 0;
    while (i < length) {
        if (!is_word_byte(text[i])) {
            ++i;
            continue;
        }
        const size_t start = i;
        while (i < length && is_word_byte(text[i])) {
            ++i;
        }
        if (words < max_length) {
            ids[words] = tfc_word_id(vocab, text + start, i - start);
        }
        ++words;
    }
    /* Move the kept ids to the end and pad in front. */
    const size_t kept = words < max_length ? words : max_length;
    const size_t pad = max_length - kept;
    for (size_t k = kept; k-- > 0;) {
        ids[k + pad] = ids[k];
    }
    for (size_t k = 0; k < pad; ++k) {
        ids[k] = vocab->pad_id;
    }
    return words;
}
