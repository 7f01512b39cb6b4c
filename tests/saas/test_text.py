"""saas.text.display_text_clean: what may stay in a name shown to other people."""

import pytest

from saas.text import display_text_clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Acme\r\nBcc: evil@example.com", "Acme Bcc: evil@example.com"),
        ("Acme\nInc", "Acme Inc"),
        ("Acme\rInc", "Acme Inc"),
        ("Tab\tbed", "Tab bed"),
        ("Line\u2028Para\u2029End", "Line Para End"),
        ("Evil\u202eCorp", "EvilCorp"),
        ("\u202a\u202b\u202c\u202d\u202eX", "X"),
        ("\u2066\u2067\u2068\u2069Y", "Y"),
        ("L\u200eR\u200fM\u061c", "LRM"),
        ("Nul\x00Bel\x07Esc\x1b", "NulBelEsc"),
        ("Del\x7fC1\x80\x9f", "DelC1"),
        ("Next\x85Line", "Next Line"),
        ("  spaced   out  ", "spaced out"),
        ("\r\n\u202e", ""),
        (None, ""),
    ],
)
def test_controls_and_bidi_overrides_are_removed(raw, clean):
    assert display_text_clean(raw) == clean


@pytest.mark.parametrize(
    "name", ["Café Zoë", "株式会社テスト", "شركة مثال", "Emoji 🚀 Labs", "O'Brien & Co."]
)
def test_ordinary_names_in_any_script_are_kept(name):
    assert display_text_clean(name) == name


def test_every_listed_character_class_is_removed():
    listed = [chr(c) for c in range(0x00, 0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
    listed += ["\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
    for char in listed:
        assert char not in display_text_clean(f"a{char}b"), hex(ord(char))
