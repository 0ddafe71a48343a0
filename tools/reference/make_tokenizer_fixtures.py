#!/usr/bin/env python3
"""Write the CLIP tokenizer fixtures, the golden token-id corpus and the Swift Unicode tables.

Outputs, relative to the repository root:

* Tests/MMRetTests/Fixtures/clip-tokenizer/: vocab.json, merges.txt, tokenizer.json,
  tokenizer_config.json and special_tokens_map.json, laid out as in
  openai/clip-vit-base-patch16. The vocabulary and merges come from the BPE file that ships
  in the `openai-clip` package (bpe_simple_vocab_16e6.txt.gz); tokenizer.json is written by
  transformers' CLIPTokenizerFast.save_pretrained.
* Tests/MMRetTests/Fixtures/tokenizer-golden.jsonl: one {"text", "ids77", "ids75"} object per
  line, the ids that CLIPTokenizerFast returns with truncation at max_length 77 and 75.
* Sources/MMRet/Tokenizer/CLIPUnicodeTables.swift: the character classes, lowercase mapping
  and NFC data of the `tokenizers` library, read back from its behaviour on every scalar.
  Its regular expressions, Lowercase and NFC follow older Unicode data than the Swift
  toolchain: tokenizers 0.20.3 matches `\\p{L}` as Python's Unicode 14 does, but treats 98
  combining marks as class 0 in NFC and does not decompose U+11938. With these tables the
  Swift tokenizer does not depend on the toolchain's Unicode version.

Setup: pip install -r tools/reference/requirements.txt (openai-clip with --no-deps).
Run from the repository root: python3 tools/reference/make_tokenizer_fixtures.py
"""

import gzip
import importlib.util
import json
import os
import random
import shutil
import sys
import tempfile
import unicodedata

import tokenizers
import transformers
from tokenizers import Regex, normalizers
from transformers import CLIPTokenizer, CLIPTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "MMRetTests", "Fixtures")
TOKENIZER_DIR = os.path.join(FIXTURES, "clip-tokenizer")
GOLDEN = os.path.join(FIXTURES, "tokenizer-golden.jsonl")
TABLES = os.path.join(ROOT, "Sources", "MMRet", "Tokenizer", "CLIPUnicodeTables.swift")

# openai/clip-vit-base-patch16 keeps the first 49152 - 256 - 2 merges of the BPE file.
MERGE_COUNT = 49152 - 256 - 2
SEED = 20240917


def bytes_to_unicode():
    """Return GPT-2's byte -> printable character table."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in chars]))


def write_tokenizer_files():
    spec = importlib.util.find_spec("clip")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("error: the openai-clip package is missing; run pip install openai-clip==1.0.1 --no-deps")
    bpe_path = os.path.join(spec.submodule_search_locations[0], "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    # The first line is a header; the merges follow, one "left right" pair per line.
    merges = [tuple(line.split()) for line in lines[1 : MERGE_COUNT + 1]]
    assert len(merges) == MERGE_COUNT and all(len(m) == 2 for m in merges)

    byte_chars = list(bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408
    assert len(set(vocab)) == len(vocab)

    with tempfile.TemporaryDirectory() as scratch:
        with open(os.path.join(scratch, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
        with open(os.path.join(scratch, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.write("".join(f"{left} {right}\n" for left, right in merges))
        slow = CLIPTokenizer(
            os.path.join(scratch, "vocab.json"),
            os.path.join(scratch, "merges.txt"),
            model_max_length=77,
            pad_token="<|endoftext|>",
        )
        slow.save_pretrained(scratch)
        fast = CLIPTokenizerFast.from_pretrained(scratch)
        if os.path.isdir(TOKENIZER_DIR):
            shutil.rmtree(TOKENIZER_DIR)
        fast.save_pretrained(TOKENIZER_DIR)

    fast = CLIPTokenizerFast.from_pretrained(TOKENIZER_DIR)
    slow = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    # Without ftfy the slow tokenizer cleans text differently, so compare plain captions only.
    for text in [
        "a photo of a cat",
        "A man riding a wave on top of a surfboard.",
        "is darker and has long sleeves",
        "It's 12 o'clock; we'll go.",
    ]:
        assert fast(text)["input_ids"] == slow(text)["input_ids"], text
    return fast


# ---------------------------------------------------------------------------------------
# Unicode tables read back from the Rust library.

ALL_SCALARS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def regex_members(pattern):
    """Return the scalars that the regular expression `pattern` matches in tokenizers' Replace."""
    text = "".join(chr(c) for c in ALL_SCALARS)
    marked = normalizers.Replace(Regex(pattern), "\x00").normalize_str(text)
    assert len(marked) == len(text)
    members = [ALL_SCALARS[i] for i, ch in enumerate(marked) if ch == "\x00" and ALL_SCALARS[i] != 0]
    if normalizers.Replace(Regex(pattern), "X").normalize_str("\x00") == "X":
        members.insert(0, 0)
    return members


def ranges(scalars):
    result = []
    for c in sorted(scalars):
        if result and result[-1][1] == c - 1:
            result[-1][1] = c
        else:
            result.append([c, c])
    return result


def lowercase_map():
    lower = normalizers.Lowercase()
    mapping = {}
    for c in ALL_SCALARS:
        out = lower.normalize_str(chr(c))
        if out != chr(c):
            mapping[c] = [ord(ch) for ch in out]
    return mapping


HANGUL_S_BASE, HANGUL_S_COUNT = 0xAC00, 11172


def nfc_tables():
    """Return (decompositions, combining classes, composition pairs) of tokenizers' NFC."""
    nfd = normalizers.NFD()
    nfc = normalizers.NFC()
    decompositions = {}
    for c in ALL_SCALARS:
        if HANGUL_S_BASE <= c < HANGUL_S_BASE + HANGUL_S_COUNT:
            continue
        out = nfd.normalize_str(chr(c))
        if out != chr(c):
            decompositions[c] = [ord(ch) for ch in out]

    # The crate's combining classes are Python's, except for marks that the crate's older
    # Unicode data does not list; those behave as starters (class 0).
    classes = {}
    for c in ALL_SCALARS:
        ccc = unicodedata.combining(chr(c))
        if ccc == 0:
            continue
        probes = ["a" + chr(c) + "\u0301\u0316", "a\u0301" + chr(c), "a\u0316" + chr(c)]
        if all(nfc.normalize_str(p) == unicodedata.normalize("NFC", p) for p in probes):
            classes[c] = ccc

    # A primary composite is a scalar whose two-scalar canonical mapping composes back to it.
    compositions = {}
    for c in ALL_SCALARS:
        mapping = unicodedata.decomposition(chr(c))
        if not mapping or mapping.startswith("<"):
            continue
        parts = [int(p, 16) for p in mapping.split()]
        if len(parts) != 2:
            continue
        if nfc.normalize_str(chr(parts[0]) + chr(parts[1])) == chr(c):
            compositions[(parts[0], parts[1])] = c
    return decompositions, classes, compositions


def reference_nfc(text, decompositions, classes, compositions):
    """Compose text with the extracted tables; used to check the tables against the crate."""
    scalars = []
    for ch in text:
        c = ord(ch)
        if HANGUL_S_BASE <= c < HANGUL_S_BASE + HANGUL_S_COUNT:
            index = c - HANGUL_S_BASE
            scalars.append(0x1100 + index // 588)
            scalars.append(0x1161 + (index % 588) // 28)
            if index % 28:
                scalars.append(0x11A7 + index % 28)
        else:
            scalars.extend(decompositions.get(c, [c]))
    # Canonical ordering: a stable sort of every run of non-starters by class.
    i = 0
    while i < len(scalars):
        if classes.get(scalars[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(scalars) and classes.get(scalars[j], 0) != 0:
            j += 1
        scalars[i:j] = sorted(scalars[i:j], key=lambda s: classes[s])
        i = j
    # Canonical composition.
    result = []
    starter = -1
    last_class = -1
    for c in scalars:
        ccc = classes.get(c, 0)
        if starter >= 0 and (last_class < ccc or (last_class == 0 and len(result) - 1 == starter)):
            first = result[starter]
            composed = None
            if 0x1100 <= first < 0x1113 and 0x1161 <= c < 0x1176:
                composed = HANGUL_S_BASE + ((first - 0x1100) * 21 + (c - 0x1161)) * 28
            elif (
                HANGUL_S_BASE <= first < HANGUL_S_BASE + HANGUL_S_COUNT
                and (first - HANGUL_S_BASE) % 28 == 0
                and 0x11A7 < c < 0x11C3
            ):
                composed = first + (c - 0x11A7)
            else:
                composed = compositions.get((first, c))
            if composed is not None:
                result[starter] = composed
                continue
        if ccc == 0:
            starter = len(result)
            last_class = 0
        else:
            last_class = ccc
        result.append(c)
    return "".join(chr(c) for c in result)


def check_nfc_tables(decompositions, classes, compositions):
    nfc = normalizers.NFC()
    marks = [c for c in ALL_SCALARS if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")]
    bases = [c for c in ALL_SCALARS if unicodedata.decomposition(chr(c)) and not unicodedata.decomposition(chr(c)).startswith("<")]
    rng = random.Random(SEED)
    samples = []
    for c in ALL_SCALARS:
        samples.append(chr(c))
        samples.append("a" + chr(c) + "\u0301\u0316")
    for _ in range(200000):
        parts = [rng.choice(bases) if rng.random() < 0.4 else rng.choice(marks) for _ in range(rng.randint(1, 6))]
        parts.insert(0, rng.choice([0x61, 0x41, 0x1100, 0xAC00, 0x11A8, 0x1161, 0x3B1]))
        samples.append("".join(chr(c) for c in parts))
    for sample in samples:
        expected = nfc.normalize_str(sample)
        actual = reference_nfc(sample, decompositions, classes, compositions)
        assert expected == actual, (sample.encode("unicode_escape"), expected.encode("unicode_escape"), actual.encode("unicode_escape"))


def swift_array(name, type_name, values, per_line=12):
    lines = [f"    static let {name}: [{type_name}] = ["]
    for start in range(0, len(values), per_line):
        chunk = values[start : start + per_line]
        lines.append("        " + ", ".join(f"0x{v:X}" for v in chunk) + ",")
    lines.append("    ]")
    return "\n".join(lines)


def write_unicode_tables():
    whitespace = regex_members(r"\s")
    letters = regex_members(r"\p{L}")
    numbers = regex_members(r"\p{N}")
    lowercase = lowercase_map()
    decompositions, classes, compositions = nfc_tables()
    check_nfc_tables(decompositions, classes, compositions)

    def flat_ranges(scalars):
        return [v for pair in ranges(scalars) for v in pair]

    # Single-scalar lowercase mappings as (scalar, lowercase) pairs; longer ones are rare.
    single_lower = [v for c in sorted(lowercase) if len(lowercase[c]) == 1 for v in (c, lowercase[c][0])]
    multi_lower = {c: m for c, m in lowercase.items() if len(m) > 1}
    # Decompositions flattened as (scalar, offset << 8 | count) plus one shared scalar pool.
    decomposition_index, decomposition_pool = [], []
    for c in sorted(decompositions):
        parts = decompositions[c]
        decomposition_index += [c, (len(decomposition_pool) << 8) | len(parts)]
        decomposition_pool += parts
    class_pairs = [v for c in sorted(classes) for v in (c, classes[c])]
    composition_triples = [v for (a, b) in sorted(compositions) for v in (a, b, compositions[(a, b)])]

    header = f"""// Generated by tools/reference/make_tokenizer_fixtures.py from tokenizers {tokenizers.__version__}; do not edit.
//
// Each table is read back from what the library's regular expressions (`\\s`, `\\p{{L}}`,
// `\\p{{N}}`), Lowercase and NFC do to every scalar. Their Unicode data is older than the
// Swift toolchain's, so the toolchain's own properties would give different ids.

/// Unicode data of the CLIP normalizer and pre-tokenizer, as the Rust `tokenizers` library has it.
enum CLIPUnicodeTables {{
    /// Scalars matched by `\\s`, as inclusive (first, last) ranges.
{swift_array("whitespaceRanges", "UInt32", flat_ranges(whitespace))}

    /// Scalars matched by `\\p{{L}}`, as inclusive (first, last) ranges.
{swift_array("letterRanges", "UInt32", flat_ranges(letters))}

    /// Scalars matched by `\\p{{N}}`, as inclusive (first, last) ranges.
{swift_array("numberRanges", "UInt32", flat_ranges(numbers))}

    /// Lowercase mappings to one scalar, as (scalar, lowercase) pairs sorted by scalar.
{swift_array("lowercasePairs", "UInt32", single_lower)}

    /// Lowercase mappings to more than one scalar.
    static let lowercaseExpansions: [UInt32: [UInt32]] = [
{chr(10).join(f"        0x{c:X}: [{', '.join(f'0x{v:X}' for v in m)}]," for c, m in sorted(multi_lower.items()))}
    ]

    /// Full canonical decompositions (Hangul syllables excluded) as (scalar, offset << 8 | count)
    /// pairs into `decompositionPool`, sorted by scalar.
{swift_array("decompositionIndex", "UInt32", decomposition_index)}

{swift_array("decompositionPool", "UInt32", decomposition_pool)}

    /// Non-zero canonical combining classes as (scalar, class) pairs sorted by scalar.
{swift_array("combiningClassPairs", "UInt32", class_pairs)}

    /// Primary composites as (first, second, composite) triples.
{swift_array("compositionTriples", "UInt32", composition_triples)}
}}
"""
    with open(TABLES, "w", encoding="utf-8") as f:
        f.write(header)
    print(f"wrote {TABLES}")


# ---------------------------------------------------------------------------------------
# Golden corpus.

HANDWRITTEN = [
    "",
    " ",
    "   \t\n  ",
    "\u00a0\u00a0",
    "\u200b",
    "a photo of a cat",
    "A photo of a CAT.",
    "is darker and has long sleeves",
    "Is Darker And Has Long Sleeves",
    "café", "cafe\u0301", "CAFÉ", "CAFE\u0301", "naïve résumé", "nai\u0308ve re\u0301sume\u0301",
    "Ångström", "A\u030angstro\u0308m", "Ω ohm sign \u2126", "\u212b angstrom sign",
    "e\u0301\u0302\u0323 stacked", "a\u0316\u0301\u0300\u0317 marks", "q\u0307\u0323 dot stack",
    "ǖ ǘ ǚ ǜ", "u\u0308\u0304", "ḱṷ", "ế ệ ữ",
    "it's", "IT'S", "it’s", "IT’S", "we'll", "WE'LL", "they're", "THEY'RE", "I've", "I'VE",
    "I'm", "I'M", "he'd", "HE'D", "don't", "DON'T", "'s", "''s", "s'", "'", "''", "'re'",
    "rock'n'roll", "O'Neil's dog's bone", "’tis the season", "the cat's 'toy'",
    "我喜欢猫", "一只猫坐在沙发上。", "東京タワーの夜景", "日本語のテキスト、句読点。",
    "مرحبا بالعالم", "القطة على الأريكة", "שלום עולם",
    "👍", "👍🏽", "👩🏾‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "a👍b", "cat🐱dog🐶", "🇯🇵🇫🇷",
    "0", "2024", "3.14159", "1,000,000", "12345678901234567890", "+1 (555) 010-0000",
    "25°C", "$19.99", "50% off", "4K UHD TV 55\"", "v2.0.1", "1st 2nd 3rd 4th",
    "&amp; &lt;b&gt; &quot;quoted&quot; &#39;x&#39; &nbsp;",
    "<b>bold</b> <br/>", "Tom &amp; Jerry",
    "https://example.com/path?query=1&b=2#frag", "www.example.org", "user@example.com",
    "tab\tseparated\twords", "new\nline\r\nwindows", "mixed \t\n\r\x0b\x0c spaces",
    "non\u00a0breaking\u00a0space", "zero\u200bwidth\u200bspace", "narrow\u202fnbsp",
    "ideographic\u3000space", "en\u2002em\u2003thin\u2009", "line\u2028para\u2029sep",
    "next\u0085line", "ogham\u1680space", "mongolian\u180evowel", "word\u2060joiner",
    "bom\ufeffinside", "soft\u00adhyphen",
    "ﬁne ﬂower ﬀ ﬃ", "ＦＵＬＬ ｗｉｄｔｈ", "１２３", "ｶﾀｶﾅ", "㎏ ㎞ ℃ №",
    "<|startoftext|>", "<|endoftext|>", "<|startoftext|>a cat<|endoftext|>",
    "a<|endoftext|>b", "cat<|startoftext|>dog", "<|ENDOFTEXT|>", "<|StartOfText|>",
    "<|endoftext|><|endoftext|>", "<| endoftext |>", "<|endoftext", "endoftext|>",
    "!<|endoftext|>", "<<|endoftext|>>", "x <|startoftext|> y <|endoftext|> z",
    "<|startoftext|" , "<|startoftext|>'s", "<|endoftext|>123",
    "Ελληνικά γράμματα", "ΟΔΥΣΣΕΥΣ", "Σίσυφος", "Привет, мир!", "ЁЛКА", "Україна",
    "नमस्ते दुनिया", "हिन्दी", "สวัสดีครับ", "ภาษาไทย", "안녕하세요", "한국어 텍스트",
    "\u1100\u1161\u11a8", "\u1100\u1161", "각\u11a8",
    "Ⅻ Ⅳ ⅷ", "½ ¾ ² ³ ⁴ ₅", "٣٤٥ ۱۲۳ ४५६", "ʰ ʲ ˈ ˌ ᵃ", "ª º",
    "İstanbul", "I\u0307", "ß SS ẞ", "ǅ ǈ ǋ", "Ϊ΅", "ﬅ",
    "\ue000\ue001 private use", "\U000f0000 plane 15", "\U0010fffd",
    "\x00\x01\x02 controls \x7f \x9f", "bell\x07char", "\x1b[31mred\x1b[0m",
    "♠♣♥♦ ★☆ →←↑↓ ∑∫√∞ ≤≥≠", "©®™ §¶ †‡ •…", "«quotes» „low“ ‹single›",
    "—em – en ‐ hyphen", "¿Qué? ¡Sí!", "...!!!???", "a-b_c/d\\e|f", "(){}[]<>",
    "#hashtag @mention", "C++ and C#", "e.g. i.e. etc.", "ALLCAPS SHOUTING TEXT",
]

SUBJECTS = ["a man", "a woman", "two dogs", "a small child", "a red car", "an old train",
            "a group of people", "a black cat", "a large elephant", "a pizza", "a laptop",
            "a kitchen", "a surfer", "a tennis player", "a giraffe", "a bowl of fruit"]
ACTIONS = ["sitting on", "standing next to", "riding", "walking down", "parked near",
           "holding", "looking at", "playing with", "lying on", "flying over"]
OBJECTS = ["a wooden bench", "the beach", "a busy street", "a snowy mountain", "a table",
           "a grassy field", "the kitchen counter", "a frisbee", "a wave", "a skateboard"]
COLORS = ["red", "blue", "navy", "black", "white", "beige", "olive green", "burgundy", "pastel pink"]
GARMENTS = ["dress", "t-shirt", "shirt", "jacket", "skirt", "hoodie", "blouse", "sweater"]
EDITS = ["is darker and has long sleeves", "is shorter and more colorful", "has a v-neck",
         "is less formal", "has floral print", "is sleeveless", "has a graphic print",
         "is more fitted", "has buttons", "is brighter", "has stripes", "is longer"]
BRANDS = ["Acme", "Nordic", "UltraSoft", "ProMax", "EcoWear", "Zenith"]
UNITS = ["cm", "mm", "kg", "GB", "mAh", "inch", "W", "ml"]

# Blocks sampled for random text: Latin, combining marks, Greek, Cyrillic, Armenian, Hebrew,
# Arabic, Devanagari, Bengali, Tamil, Thai, Tibetan, Georgian, Hangul Jamo, Ethiopic,
# Cherokee, Khmer, Mongolian, Balinese, newer combining marks, Latin Extended Additional,
# Greek Extended, punctuation, super/subscripts, currency, letterlike, number forms, arrows,
# math, box drawing, dingbats, CJK symbols, Hiragana, Katakana, CJK, Hangul syllables,
# private use, presentation forms, half/full width, ancient scripts, musical symbols,
# math alphanumerics, Adlam, emoji, CJK extension B, tags, supplementary private use.
BLOCKS = [
    (0x20, 0x7E), (0x80, 0xFF), (0x100, 0x24F), (0x250, 0x2FF), (0x300, 0x36F),
    (0x370, 0x3FF), (0x400, 0x4FF), (0x530, 0x58F), (0x590, 0x5FF), (0x600, 0x6FF),
    (0x7C0, 0x7FF), (0x890, 0x8FF), (0x900, 0x97F), (0x980, 0x9FF), (0xB80, 0xBFF),
    (0xC00, 0xC7F), (0xD00, 0xD7F), (0xE00, 0xE7F), (0xE80, 0xEFF), (0xF00, 0xFFF),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1200, 0x137F), (0x13A0, 0x13FF), (0x1700, 0x171F),
    (0x1780, 0x17FF), (0x1800, 0x18AF), (0x1AB0, 0x1AFF), (0x1B00, 0x1B7F), (0x1DC0, 0x1DFF),
    (0x1E00, 0x1EFF), (0x1F00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF),
    (0x20D0, 0x20FF), (0x2100, 0x214F), (0x2150, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF),
    (0x2500, 0x257F), (0x2700, 0x27BF), (0x2C00, 0x2C5F), (0x3000, 0x303F), (0x3040, 0x309F),
    (0x30A0, 0x30FF), (0x4E00, 0x9FFF), (0xA000, 0xA48F), (0xA980, 0xA9DF), (0xAC00, 0xD7A3),
    (0xE000, 0xF8FF), (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE00, 0xFE0F), (0xFE20, 0xFE2F),
    (0xFE70, 0xFEFF), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10000, 0x1007F), (0x10330, 0x1034F),
    (0x11000, 0x1107F), (0x11900, 0x1195F), (0x16FE0, 0x16FFF), (0x1D100, 0x1D1FF),
    (0x1D400, 0x1D7FF), (0x1E900, 0x1E95F), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF), (0x20000, 0x2A6DF), (0xE0000, 0xE007F),
    (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
]
# Marks whose combining class differs between Unicode versions, plus common ones.
TRICKY_MARKS = [0x7FD, 0x898, 0x8CA, 0x9FE, 0xC3C, 0xD3B, 0xEBA, 0x1715, 0x1ABF, 0x1ACA,
                0x1DFA, 0x10EFD, 0x11938, 0x11935, 0x11930, 0x301, 0x316, 0x323, 0x308, 0x327]


def random_captions(rng, count):
    texts = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            text = f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)}."
            if rng.random() < 0.3:
                text = text.capitalize()
        elif kind == 1:
            text = (f"{rng.choice(BRANDS)} {rng.choice(COLORS)} {rng.choice(GARMENTS)}, "
                    f"size {rng.choice(['S', 'M', 'L', 'XL'])}, {rng.randint(1, 999)} {rng.choice(UNITS)}, "
                    f"${rng.randint(5, 500)}.{rng.randint(0, 99):02d}")
        elif kind == 2:
            text = f"{rng.choice(EDITS)} and {rng.choice(EDITS)}"
            if rng.random() < 0.3:
                text = text.upper()
        else:
            text = f"The {rng.choice(COLORS)} {rng.choice(GARMENTS)} {rng.choice(EDITS)}; it's {rng.choice(['great', 'ok', 'FINE'])}!"
        texts.append(text)
    return texts


def random_unicode(rng, count):
    texts = []
    for _ in range(count):
        scalars = []
        for _ in range(rng.randint(1, 24)):
            roll = rng.random()
            if roll < 0.12:
                scalars.append(rng.choice([0x20, 0x20, 0x09, 0x0A, 0xA0, 0x200B, 0x3000, 0x27, 0x2019]))
            elif roll < 0.2:
                scalars.append(rng.choice(TRICKY_MARKS))
            else:
                low, high = rng.choice(BLOCKS)
                scalars.append(rng.randint(low, high))
        texts.append("".join(chr(c) for c in scalars))
    return texts


def long_texts(rng, count):
    texts = []
    for _ in range(count):
        words = [rng.choice(SUBJECTS + OBJECTS + EDITS + COLORS) for _ in range(rng.randint(30, 80))]
        texts.append(" ".join(words))
    texts.append("word " * 200)
    texts.append("🙂" * 60)
    texts.append("1234567890" * 20)
    texts.append("<|endoftext|>" * 90)
    return texts


def write_golden(fast):
    rng = random.Random(SEED)
    texts = HANDWRITTEN + random_captions(rng, 180) + random_unicode(rng, 260) + long_texts(rng, 20)
    assert len(texts) >= 500
    with open(GOLDEN, "w", encoding="utf-8") as f:
        for text in texts:
            ids77 = fast(text, max_length=77, truncation=True)["input_ids"]
            ids75 = fast(text, max_length=75, truncation=True)["input_ids"]
            f.write(json.dumps({"text": text, "ids77": ids77, "ids75": ids75}, ensure_ascii=False) + "\n")
    print(f"wrote {len(texts)} texts to {GOLDEN}")


def main():
    print(f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    fast = write_tokenizer_files()
    write_golden(fast)
    write_unicode_tables()


if __name__ == "__main__":
    main()
