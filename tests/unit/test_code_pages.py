"""Windows Western (cp1252) or Central European (cp1250): the language decides, not the order.

Both code pages read many of the same bytes as clean letters: Czech "Dvořák" written in cp1250
reads as "Dvoøák" in cp1252, French "très" written in cp1252 as "trčs" in cp1250. The text of
each language below is written in each code page that can hold it and must come back exactly.
"""

from __future__ import annotations

import pytest

from tasks.formats import encodings

# (language, code page, three cells of text in that language the code page can write)
WRITTEN = [
    ("Czech", "cp1250", "Antonín Dvořák,Leoš Janáček,Bohuslav Martinů"),
    ("Czech", "cp1252", "Jan Novák,Hrádek u Šumavy,Tomáš"),
    ("Polish", "cp1250", "Łódź,Zażółć gęślą jaźń,Gdańsk"),
    ("Polish", "cp1252", "Kraków,Józef,Góra"),
    ("German", "cp1252", "Müller,Hauptstraße,Grüße aus Österreich"),
    ("German", "cp1250", "Müller,Hauptstraße,Grüße aus Österreich"),
    ("French", "cp1252", "Noël à Paris,très bien,L'œuvre de Molière"),
    ("French", "cp1250", "Café,garçon,Hôtel de Noël"),
    ("Spanish", "cp1252", "Señor Muñoz,¿Dónde está la niña?,Logroño"),
    ("Spanish", "cp1250", "José,Málaga,árbol"),
    ("Slovak", "cp1250", "Ľudovít Štúr,Košice,Žilina"),
    ("Romanian", "cp1250", "Timişoara,Braşov,Iaşi"),
    ("Czech and German", "cp1250", "Dvořák,Müller,Chopin"),
    ("Czech", "cp1250", "Dvořák,Brno,Praha"),  # one word tells
    ("French", "cp1252", "Molière,Paris,Lyon"),  # "Moličre" would be a Czech spelling too
]
# No word tells: the choice stays cp1252 and the result names cp1250 as a reading too.
ONE_LETTER_EACH_WAY = "Molière,Paris,Lyon"


@pytest.mark.parametrize(("language", "page", "text"), WRITTEN, ids=[w[0] for w in WRITTEN])
def test_text_in_either_code_page_comes_back_exactly(profile, language, page, text):
    """Read each language's text as written, in either code page; say nothing of the other
    page when the language told them apart."""
    content = f"a,b,c\n{text}\n{text}\n".encode(page)
    result = profile(content)
    values = {t["value"] for c in result["columns"] for t in c["top"]}
    assert values == set(text.split(","))
    if content.decode("cp1252", errors="replace") != content.decode(page):
        assert result["encoding"] == page
    else:  # the same text either way: the more common page, and nothing to say
        assert result["encoding"] == "cp1252"
    if text != ONE_LETTER_EACH_WAY:
        assert "encoding_note" not in result


def test_a_choice_nothing_decides_is_said_in_the_result(profile):
    """Keep cp1252 and say cp1250 reads it too when no word tells: "Bedøich" is as Danish a
    spelling as "Bedřich" is Czech."""
    result = profile("name\nBedřich\nBrno\n".encode("cp1250"))
    assert result["encoding"] == "cp1252"
    assert "cp1250" in result["encoding_note"]


def test_misfit_counts_words_no_language_spells_and_letters_outside_one_alphabet():
    """Score "Dvoøák" as a word of no language, "trčs garçon" as letters of two alphabets."""
    assert encodings.misfit("Dvořák") == (0, 0)
    assert encodings.misfit("Dvoøák") == (1, 1)
    assert encodings.misfit("très bientôt à") == (0, 0)
    assert encodings.misfit("trčs garçon") == (0, 1)
    assert encodings.misfit("plain ASCII") == (0, 0)
