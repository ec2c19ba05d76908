"""The data layer: reading a file of words, its vocabulary, and the split."""

import os
import re
import sys
import threading
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest
from helpers import NAMES

import makemore.data
from makemore import MakemoreError
from makemore.data import read_words, split, too_few_words


def test_vocabulary_of_names_is_the_lectures_27_tokens():
    words = read_words(NAMES)
    assert len(words) == 32033
    assert words.vocab.itos == ["."] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    assert words.vocab.stoi["a"] == 1 and words.vocab.stoi["."] == 0


def test_lines_are_stripped_and_blank_lines_dropped(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("  emma \n\n\t\nolivia\nmary ann\n  \nava")
    assert read_words(path).words() == ["emma", "olivia", "mary ann", "ava"]


def test_any_utf8_text_round_trips(tmp_path):
    path = tmp_path / "w.txt"
    lines = ["zoë", "żaneta", "日本", "a"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    words = read_words(path)
    assert words.words() == lines
    assert words.vocab.itos[0] == "." and words.vocab.itos[1:] == sorted(set("".join(lines)))


def test_split_is_fixed_by_its_seed_and_holds_out_the_fractions():
    a, b, c = split(1000, 0.1, 0.2, 42), split(1000, 0.1, 0.2, 42), split(1000, 0.1, 0.2, 7)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.bincount(a).tolist() == [700, 100, 200]


def test_split_draws_the_same_permutation_as_ever():
    # Figures elsewhere depend on these labels bit for bit.
    assert split(12, 0.25, 0.2, 42).tolist() == [2, 1, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0]


def test_a_file_too_small_for_the_held_out_fractions_gets_one_warning_line():
    assert too_few_words("x.txt", 5, 0.1, 0) == (
        "data.path 'x.txt' has 5 words: too few for data.val_fraction=0.1 (0 validation words)"
    )
    assert too_few_words(Path("x.txt"), 5, 0.1, 0.1) == (
        "data.path 'x.txt' has 5 words: too few for data.val_fraction=0.1 and data.test_fraction=0.1 "
        "(0 validation words, 0 test words)"
    )
    assert too_few_words("x.txt", 10, 0.1, 0.1) is None and too_few_words("x.txt", 5, 0, 0) is None
    assert np.bincount(split(5, 0.1, 0.1, 0), minlength=3).tolist() == [5, 0, 0]  # as the warning says


# --- what is read as the data -----------------------------------------------------------------------


def lines_of(text):
    """What read_words should make of a text, by Python's string methods: the stripped nonblank lines."""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))]
    return [line for line in lines if line]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_without_reading_it():
    with pytest.raises(MakemoreError, match=r"^data.path '/dev/zero' is not a regular file$"):
        read_words("/dev/zero")


@pytest.mark.skipif(sys.platform == "win32", reason="no FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "words.fifo"
    os.mkfifo(fifo)
    said = []

    def read():
        try:
            read_words(fifo)
            said.append("read")
        except MakemoreError as e:
            said.append(str(e))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)  # no writer ever comes: refused at once, or never
    if reader.is_alive():  # it waits for one: it comes, so that the test fails rather than hangs
        with suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert said == [f"data.path {str(fifo)!r} is not a regular file"]


def test_a_byte_order_mark_is_removed_with_a_note(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes(b"\xef\xbb\xbfemma\nava\n")
    words = read_words(path)
    assert words.words() == ["emma", "ava"] and "\ufeff" not in words.vocab.itos
    assert words.notes == ["a UTF-8 byte-order mark at the start of the file was removed"]


def test_lone_carriage_returns_end_lines_with_a_note(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes(b"emma\rava\r\rolivia\r\nmia")
    words = read_words(path)
    assert words.words() == ["emma", "ava", "olivia", "mia"]
    assert words.notes == [
        "Windows line endings were read as plain newlines",
        "3 line(s) ended in a lone '\\r' (old Mac line endings), read as plain newlines",
    ]


def test_unicode_whitespace_is_stripped_but_breaks_no_line(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(
        "\u3000emma\u3000\n\u2028ava\xa0\nmary\u3000ann\nli\u2028\u2029lu\n\x85\xa0\n", encoding="utf-8"
    )
    words = read_words(path)
    assert words.words() == ["emma", "ava", "mary\u3000ann", "li\u2028\u2029lu"]
    assert words.notes == ["2 line(s) had surrounding whitespace, which was stripped"]


def test_whitespace_is_what_str_isspace_says(tmp_path):
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and chr(c) not in "\r\n"]
    path = tmp_path / "w.txt"
    path.write_text("".join(f"{s}a{s}b{s}\n" for s in spaces), encoding="utf-8")
    assert read_words(path).words() == [f"a{s}b" for s in spaces]


def test_a_10_mb_line_is_one_word(tmp_path):
    path = tmp_path / "w.txt"
    line = "emma ava " * (10 * 2**20 // 9)
    path.write_text(f"  {line}\nmia\n")
    words = read_words(path)
    assert words.lengths.tolist() == [len(line) - 1, 3]
    assert words.words([1]) == ["mia"] and words.notes == [
        "1 line(s) had surrounding whitespace, which was stripped"
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 8])
def test_chunk_boundaries_cut_no_character_line_end_or_word(tmp_path, monkeypatch, chunk):
    # Small chunks put a boundary inside every multi-byte character, '\r\n', whitespace run and word here.
    monkeypatch.setattr(makemore.data, "CHUNK", chunk)
    text = "\ufeff  zoë\u3000 \r\n\r\nmary  ann \t\r日本\n\n😀\r\n\xa0 \n \u2028a\u2028 b\u3000"
    path = tmp_path / "w.txt"
    path.write_text(text, encoding="utf-8", newline="")
    words = read_words(path)
    assert words.words() == lines_of(text) == ["zoë", "mary  ann", "日本", "😀", "a\u2028 b"]
    assert words.lengths.tolist() == [3, 9, 2, 1, 4]
    assert words.notes == [
        "a UTF-8 byte-order mark at the start of the file was removed",
        "Windows line endings were read as plain newlines",
        "1 line(s) ended in a lone '\\r' (old Mac line endings), read as plain newlines",
        "3 line(s) had surrounding whitespace, which was stripped",
    ]


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_an_invalid_byte_is_named_by_its_offset_in_the_file(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(makemore.data, "CHUNK", chunk)
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeffzoë\nava\n".encode() + b"\xc3(")
    with pytest.raises(MakemoreError, match=r"is not UTF-8 text \(byte 12 is invalid\)$"):
        read_words(path)


@pytest.mark.skipif(not os.path.exists("/proc/self/limits"), reason="no /proc")
def test_a_file_that_gives_more_than_its_stated_size_is_read_whole():
    assert os.stat("/proc/self/limits").st_size == 0
    assert read_words("/proc/self/limits").words() == lines_of(Path("/proc/self/limits").read_text())
