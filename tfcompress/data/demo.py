"""Built-in smart-home voice-command intent dataset, generated locally and deterministically,
so ``tfcompress demo`` can train a meaningful classifier on a fresh machine without downloads.
"""

from __future__ import annotations

import random
import re

# Per-intent utterance templates.  ``{slot}`` placeholders are filled from _FILLERS; a trailing
# digit (``{item2}``) draws a second, different value from the same list.  Insertion order is the
# canonical intent order.  Several intents are deliberately confusable (on/off, up/down,
# timer/alarm, heat vs volume, "stop the music" vs "stop the timer").
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "lights_on": (
        "turn on the lights", "turn the lights on", "turn on the {room} lights",
        "switch on the light in the {room}", "lights on in the {room}", "lights on",
        "can you turn on the {room} light", "could you switch the lights on in the {room}",
        "please turn the {room} lights on", "i need some light in the {room}",
        "it's too dark in the {room}", "put the lights on", "light up the {room}",
        "switch the {room} lamp on", "can i get some light in the {room}",
    ),
    "lights_off": (
        "turn off the lights", "turn the lights off", "turn off the {room} lights",
        "switch off the light in the {room}", "lights off in the {room}", "lights off",
        "can you turn off the {room} light", "could you switch the lights off in the {room}",
        "please turn the {room} lights off", "kill the lights in the {room}",
        "shut off the {room} lights", "switch the {room} lamp off", "lights out",
        "i don't need the {room} lights anymore", "make it dark in the {room}",
    ),
    "set_brightness": (
        "set the {room} lights to {pct}", "dim the lights to {pct}", "dim the {room} lights to {pct}",
        "brightness {pct}", "set brightness to {pct}", "can you set the {room} lights to {pct} brightness",
        "could you dim the {room} light a bit", "make the {room} lights brighter",
        "make the lights a little dimmer", "turn the brightness up in the {room}",
        "turn the brightness down to {pct}", "change the {room} brightness to {pct}",
        "lower the lights in the {room} to {pct}", "brighten the {room} lights to {pct}",
        "i want the {room} lights at {pct}",
    ),
    "set_timer": (
        "set a timer for {duration}", "timer for {duration}", "start a {duration} timer",
        "can you set a timer for {duration}", "could you start a timer for {duration}",
        "please set a {duration} timer", "count down {duration}", "set the {label} timer for {duration}",
        "put a timer on for {duration}", "{duration} timer", "i need a timer for {duration}",
        "time the {label} for {duration}", "start a timer for the {label}, {duration}",
        "new timer {duration}", "let me know when {duration} is up",
    ),
    "cancel_timer": (
        "cancel the timer", "cancel my {label} timer", "stop the timer", "turn off the timer",
        "delete the {duration} timer", "can you cancel the timer", "could you stop the {label} timer",
        "please cancel all timers", "never mind the timer", "get rid of the {label} timer",
        "kill the timer", "cancel the {duration} timer", "stop the {label} timer",
        "remove my timer", "i don't need the {label} timer anymore",
    ),
    "set_alarm": (
        "set an alarm for {time}", "wake me up at {time}", "alarm for {time} {day}",
        "set an alarm for {time} {day}", "can you wake me at {time} {day}",
        "could you set my alarm to {time}", "please set an alarm at {time}",
        "i need to get up at {time} {day}", "alarm at {time}", "new alarm {time} {day}",
        "make sure i'm up by {time}", "set a wake up alarm for {time}",
        "put an alarm on for {time} {day}", "get me up at {time}", "schedule an alarm {day} at {time}",
    ),
    "set_thermostat": (
        "set the thermostat to {temp}", "set the temperature to {temp}", "make it {temp} in the {room}",
        "turn the heat up to {temp}", "can you set the heating to {temp}",
        "could you change the thermostat to {temp}", "please make the {room} {temp}",
        "i'm cold, set it to {temp}", "heat the {room} to {temp}", "cool the house down to {temp}",
        "turn up the heat", "turn down the heat", "make it warmer in the {room}",
        "it's too cold in the {room}", "set the ac to {temp}", "thermostat {temp}",
    ),
    "play_music": (
        "play {artist}", "play some {genre}", "play music by {artist}", "put on some {genre}",
        "can you play {artist}", "could you put on some {genre} in the {room}",
        "please play {artist} in the {room}", "i want to listen to {artist}",
        "play my {playlist} playlist", "start playing some {genre}", "shuffle {artist}",
        "play something by {artist}", "let's hear some {genre}", "play {genre} in the {room}",
        "put on the {playlist} playlist",
    ),
    "pause_music": (
        "pause the music", "pause", "stop the music", "stop playing", "pause the {media}",
        "can you pause the {media}", "could you stop the {media} in the {room}",
        "please pause the {media}", "hold the music", "pause the {media} for a second",
        "stop the {media}", "hit pause on the {media}", "pause playback",
        "put the {media} on hold", "stop the {media} for now",
    ),
    "volume_up": (
        "turn it up", "volume up", "turn the volume up", "louder", "make it louder",
        "increase the volume", "turn up the volume in the {room}", "can you turn it up {amount}",
        "could you raise the volume {amount}", "please make the {media} louder",
        "i can't hear the {media}", "pump up the volume", "volume up {amount}",
        "turn the {media} up", "raise the volume to {level}", "crank it up",
    ),
    "volume_down": (
        "turn it down", "volume down", "turn the volume down", "quieter", "make it quieter",
        "decrease the volume", "turn down the volume in the {room}", "can you turn it down {amount}",
        "could you lower the volume {amount}", "please make the {media} quieter",
        "the {media} is too loud", "keep it down", "volume down {amount}",
        "turn the {media} down", "lower the volume to {level}", "not so loud",
    ),
    "weather_query": (
        "what's the weather", "what's the weather like {when}", "what's the weather in {city}",
        "will it rain {when}", "is it going to rain in {city} {when}", "do i need an umbrella {when}",
        "how hot will it be {when}", "what's the forecast for {city}",
        "can you tell me the weather in {city}", "could you check the forecast for {when}",
        "is it cold outside", "how's the weather in {city} {when}", "weather {when}",
        "will it snow in {city} {when}", "what temperature is it outside",
        "should i bring a jacket {when}",
    ),
    "time_query": (
        "what time is it", "what's the time", "tell me the time", "what time is it in {city}",
        "do you know what time it is", "what's the time in {city} right now",
        "can you tell me the time", "could you tell me what time it is in {city}", "current time",
        "what time is it now", "how late is it", "time please", "what's the local time in {city}",
        "what hour is it in {city}", "give me the time",
    ),
    "add_to_shopping_list": (
        "add {item} to my shopping list", "add {item} to the list", "put {item} on the shopping list",
        "we need {item}", "we're out of {item}", "can you add {item} to my list",
        "could you put {item} and {item2} on my shopping list",
        "please add {item} to the grocery list", "shopping list add {item}",
        "i need to buy {item}", "don't let me forget {item}", "add {item} and {item2} to groceries",
        "we're running low on {item}", "stick {item} on the list", "remind me to buy {item}",
    ),
    "call_contact": (
        "call {contact}", "phone {contact}", "give {contact} a call", "can you call {contact}",
        "could you dial {contact}", "please call {contact} on speaker", "ring {contact}",
        "i want to talk to {contact}", "get {contact} on the phone", "start a call with {contact}",
        "video call {contact}", "dial the number for {contact}", "make a call to {contact}",
        "connect me with {contact}", "call {contact} on the mobile",
    ),
    "lock_door": (
        "lock the {door}", "lock the door", "can you lock the {door}", "could you lock up the {door}",
        "please lock the {door}", "make sure the {door} is locked", "lock up", "lock everything up",
        "lock all the doors", "secure the {door}", "bolt the {door}", "lock the {door} for the night",
        "lock up the house", "time to lock the {door}", "i forgot to lock the {door}",
    ),
}

_FILLERS: dict[str, tuple[str, ...]] = {
    "room": (
        "living room", "kitchen", "bedroom", "bathroom", "hallway", "office", "garage",
        "dining room", "basement", "nursery", "guest room", "attic", "porch", "kids room", "study",
    ),
    "pct": (
        "50 percent", "10 percent", "75%", "30 percent", "half", "100 percent", "20 percent",
        "80%", "40 percent", "60 percent", "25 percent", "90 percent", "fifteen percent",
        "full", "5 percent",
    ),
    "duration": (
        "5 minutes", "ten minutes", "30 seconds", "an hour", "2 hours", "45 minutes", "one minute",
        "90 seconds", "twenty minutes", "3 minutes", "half an hour", "15 minutes", "7 minutes",
        "25 minutes", "an hour and a half",
    ),
    "label": (
        "pasta", "eggs", "laundry", "oven", "tea", "pizza", "bread", "workout", "nap", "rice",
    ),
    "time": (
        "7 am", "6:30", "8 o'clock", "5:45 am", "noon", "midnight", "9 pm", "6 in the morning",
        "7:15", "quarter past six", "10 tonight", "4 pm", "11:30", "5 am", "half past seven",
    ),
    "day": (
        "tomorrow", "tomorrow morning", "on monday", "on saturday", "every weekday", "on friday",
        "this sunday", "on weekends", "every day", "on tuesday",
    ),
    "temp": (
        "68 degrees", "72 degrees", "20 degrees", "21 degrees celsius", "70", "65 degrees",
        "74 degrees fahrenheit", "19 degrees", "22 degrees", "75", "18 degrees", "69 degrees",
        "23 degrees", "71 degrees", "seventy degrees",
    ),
    "artist": (
        "taylor swift", "the beatles", "miles davis", "beyonce", "queen", "radiohead", "adele",
        "bob marley", "daft punk", "coldplay", "kendrick lamar", "nina simone", "ed sheeran",
        "fleetwood mac", "bach",
    ),
    "genre": (
        "jazz", "classical music", "rock", "hip hop", "lo-fi beats", "country", "reggae", "pop",
        "blues", "ambient music", "metal", "80s hits", "folk", "funk", "piano music",
    ),
    "playlist": (
        "workout", "chill", "dinner party", "focus", "road trip", "morning", "sleep", "party",
        "study", "running", "cooking", "rainy day",
    ),
    "media": (
        "music", "song", "track", "playlist", "podcast", "album", "radio", "audiobook", "tunes",
        "audio",
    ),
    "amount": (
        "a little", "a bit", "a lot", "by two", "a notch", "by 10 percent", "some more",
        "slightly", "by five", "a couple of notches",
    ),
    "level": (
        "5", "level 6", "8", "ten", "60 percent", "three", "level 4", "7", "40 percent", "nine",
    ),
    "when": (
        "today", "tomorrow", "this weekend", "tonight", "this afternoon", "on friday", "next week",
        "in the morning", "on saturday", "this evening", "right now",
    ),
    "city": (
        "london", "paris", "new york", "tokyo", "berlin", "chicago", "seattle", "madrid", "sydney",
        "toronto", "boston", "rome", "denver", "mumbai", "dublin",
    ),
    "contact": (
        "mom", "dad", "grandma", "john", "sarah", "my brother", "my sister", "alex", "doctor patel",
        "emma", "mike", "aunt linda", "the plumber", "jessica", "uncle joe", "the office", "david",
        "maria",
    ),
    "item": (
        "milk", "eggs", "bread", "bananas", "coffee", "paper towels", "olive oil", "dish soap",
        "apples", "butter", "rice", "chicken", "toothpaste", "orange juice", "cheese", "batteries",
        "yogurt", "tomatoes", "cereal", "trash bags",
    ),
    "door": (
        "front door", "back door", "garage door", "side door", "patio door", "basement door",
        "main entrance", "gate", "porch door", "kitchen door", "sliding door", "garden gate",
    ),
    # Wake words / politeness applied around any template (held out like the other fillers).
    "_prefix": (
        "hey", "ok", "hey home", "um", "so", "alright", "excuse me", "hello", "hey assistant", "oh",
    ),
    "_suffix": (
        "please", "thanks", "thank you", "if you could", "if you don't mind", "ok", "thanks a lot",
        "when you get a chance", "cheers",
    ),
}

DEMO_INTENTS: tuple[str, ...] = tuple(_TEMPLATES)

TRAIN_PER_INTENT_RANGE: tuple[int, int] = (160, 200)
VALID_PER_INTENT = 30
TEST_PER_INTENT = 50

_HELDOUT_FRACTION = 0.2
_EVAL_HELDOUT_PROB = 0.5  # chance an eval example draws a template / filler from the held-out pool
_PREFIX_PROB, _SUFFIX_PROB = 0.3, 0.25
_CAPITALISE_PROB, _PUNCT_PROB = 0.2, 0.25
_MAX_ATTEMPTS = 5000

_SLOT_RE = re.compile(r"\{(\w+)\}")
_QUESTION_WORDS = frozenset(
    "what what's how how's is will do can could would should did".split()
)


def _normalise(text: str) -> str:
    """Dedup key mirroring the word tokenizer (lowercase, split on non-alphanumerics): texts that
    differ only in case, punctuation or spacing count as the same utterance."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _split_pool(rng: random.Random, values: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Shuffle ``values`` and return (seen, held_out) with ~20% held out (at least one)."""
    shuffled = list(values)
    rng.shuffle(shuffled)
    n_held = max(1, round(len(shuffled) * _HELDOUT_FRACTION))
    return shuffled[n_held:], shuffled[:n_held]


def _pick(rng: random.Random, pools: tuple[list[str], list[str]], heldout_prob: float) -> str:
    seen, held = pools
    return rng.choice(held if rng.random() < heldout_prob else seen)


def _render(
    rng: random.Random,
    templates: tuple[list[str], list[str]],
    fillers: dict[str, tuple[list[str], list[str]]],
    heldout_prob: float,
) -> str:
    """Produce one utterance; ``heldout_prob`` = 0 restricts it to the seen (train) pools."""
    template = _pick(rng, templates, heldout_prob)
    chosen: dict[str, list[str]] = {}

    def fill(match: re.Match[str]) -> str:
        base = match.group(1).rstrip("0123456789")
        while True:  # repeated slots of one kind ({item} and {item2}) get distinct values
            value = _pick(rng, fillers[base], heldout_prob)
            if value not in chosen.setdefault(base, []):
                chosen[base].append(value)
                return value

    text = _SLOT_RE.sub(fill, template)
    is_question = text.split()[0] in _QUESTION_WORDS
    if rng.random() < _PREFIX_PROB:
        text = _pick(rng, fillers["_prefix"], heldout_prob) + rng.choice((" ", ", ")) + text
    if rng.random() < _SUFFIX_PROB:
        suffix = _pick(rng, fillers["_suffix"], heldout_prob)
        if suffix not in text:
            text = text + rng.choice((" ", ", ")) + suffix
    if rng.random() < _CAPITALISE_PROB:
        text = text[0].upper() + text[1:]
    if rng.random() < _PUNCT_PROB:
        text += "?" if is_question else rng.choice((".", "!"))
    return text


def _sample(
    rng: random.Random,
    n: int,
    intent: str,
    used: set[str],
    templates: tuple[list[str], list[str]],
    fillers: dict[str, tuple[list[str], list[str]]],
    heldout_prob: float,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > _MAX_ATTEMPTS:
            raise RuntimeError(f"demo generator ran out of unique utterances for {intent!r}")
        text = _render(rng, templates, fillers, heldout_prob)
        key = _normalise(text)
        if key not in used:
            used.add(key)
            out.append((text, intent))
    return out


def generate_demo_splits(seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Return {"train", "valid", "test"} lists of (text, intent) pairs, deterministic per seed.

    Train uses only "seen" templates and filler values; valid/test mix seen ones with ~20% of
    templates and filler values reserved for evaluation.  No normalised text occurs twice
    anywhere (so never across splits or with two labels).  Each split is shuffled.
    """
    rng = random.Random(seed)
    fillers = {name: _split_pool(rng, _FILLERS[name]) for name in sorted(_FILLERS)}
    used: set[str] = set()
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for intent in DEMO_INTENTS:
        templates = _split_pool(rng, _TEMPLATES[intent])
        n_train = rng.randint(*TRAIN_PER_INTENT_RANGE)
        splits["train"] += _sample(rng, n_train, intent, used, templates, fillers, 0.0)
        splits["valid"] += _sample(
            rng, VALID_PER_INTENT, intent, used, templates, fillers, _EVAL_HELDOUT_PROB
        )
        splits["test"] += _sample(
            rng, TEST_PER_INTENT, intent, used, templates, fillers, _EVAL_HELDOUT_PROB
        )
    for name in ("train", "valid", "test"):
        rng.shuffle(splits[name])
    return splits
