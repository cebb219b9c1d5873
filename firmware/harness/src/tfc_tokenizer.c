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

static uint32_t read_unsigned(const void *array, uint8_t bytes, int32_t i)
{
    return bytes == 2 ? ((const uint16_t *)array)[i] : ((const uint32_t *)array)[i];
}

const char *tfc_vocab_word(const tfc_vocabulary *vocab, int32_t i, size_t *length)
{
    const uint32_t start = read_unsigned(vocab->offsets, vocab->offset_bytes, i);
    *length = read_unsigned(vocab->offsets, vocab->offset_bytes, i + 1) - start;
    return vocab->text + start;
}

int32_t tfc_vocab_id(const tfc_vocabulary *vocab, int32_t i)
{
    return (int32_t)read_unsigned(vocab->ids, vocab->id_bytes, i);
}

/* strcmp order between the lowercased word and a vocabulary entry of `entry_length` bytes. */
static int compare(const uint8_t *word, size_t length, const char *entry, size_t entry_length)
{
    const unsigned char *e = (const unsigned char *)entry;
    const size_t common = length < entry_length ? length : entry_length;
    for (size_t i = 0; i < common; ++i) {
        const uint8_t c = lower(word[i]);
        if (c != e[i]) {
            return c < e[i] ? -1 : 1;
        }
    }
    return length == entry_length ? 0 : (length < entry_length ? -1 : 1);
}

int32_t tfc_word_id(const tfc_vocabulary *vocab, const uint8_t *word, size_t length)
{
    int32_t lo = 0, hi = vocab->count - 1;
    while (lo <= hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        size_t entry_length;
        const char *entry = tfc_vocab_word(vocab, mid, &entry_length);
        const int c = compare(word, length, entry, entry_length);
        if (c == 0) {
            return tfc_vocab_id(vocab, mid);
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
