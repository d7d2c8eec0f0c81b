"""Where ``peerlane receive`` puts files: sanitized names under the output folder, no
overwrite without --overwrite, partial data and its resume state; what ``send`` offers
for files and directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from peerlane.core.integrity import BLOCK_SIZE, block_hashes_of, root_of_bytes
from peerlane.core.transfer_blocks import Verified, Write
from peerlane.files.names import safe_relative_path
from peerlane.peer import EXIT_FAILED, EXIT_USAGE, PeerError
from peerlane.peer.outgoing import files_to_send, hash_file
from peerlane.peer.partial_file import PartialFile, check_target, target_for


@pytest.mark.parametrize(
    ("sent", "parts"),
    [
        ("photos/2024/a.jpg", ["photos", "2024", "a.jpg"]),
        ("/etc/passwd", ["etc", "passwd"]),  # absolute: stays inside
        ("../../.ssh/authorized_keys", [".ssh", "authorized_keys"]),
        ("a/./b/../c", ["a", "b", "c"]),  # no part climbs out
        ("C:\\Windows\\system.ini", ["C_", "Windows", "system.ini"]),
        ("CON", ["_CON"]),
        ("nul.txt", ["_nul.txt"]),
        ("docs/com1.log", ["docs", "_com1.log"]),
        ("lpt9", ["_lpt9"]),
        ("console.txt", ["console.txt"]),  # only the exact device names
        ("report. ", ["report"]),  # Windows drops trailing dots and spaces
        ("a\u202egpj.exe", ["agpj.exe"]),  # bidi override removed
        ("bell\x07.txt", ["bell.txt"]),
        ('what?<>|*".txt', ["what______.txt"]),
        ("", ["file"]),
        ("../..", ["file"]),
        ("...", ["file"]),
    ],
)
def test_a_senders_name_becomes_a_path_inside_the_folder(sent: str, parts: list[str]) -> None:
    assert safe_relative_path(sent) == parts


def test_a_path_keeps_at_most_64_parts() -> None:
    assert len(safe_relative_path("/".join(["d"] * 100) + "/f")) == 64


def test_targets_stay_under_the_output_folder(tmp_path: Path) -> None:
    for name in ("../../x", "/abs/y", "a/../../z", "..\\..\\w"):
        target = target_for(tmp_path, name).resolve()
        assert target.is_relative_to(tmp_path.resolve()), name


def test_an_existing_file_is_never_overwritten_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "a.txt"
    existing.write_text("mine")
    with pytest.raises(PeerError) as refused:
        check_target(existing, overwrite=False)
    assert refused.value.exit_code == EXIT_USAGE
    assert "--overwrite" in str(refused.value)
    check_target(existing, overwrite=True)
    check_target(tmp_path / "new.txt", overwrite=False)
    with pytest.raises(PeerError, match="is a directory"):
        check_target(tmp_path, overwrite=True)


def receive_all(partial: PartialFile, data: bytes, blocks: list[int]) -> None:
    receiver = partial.receiver()
    for block in blocks:
        for out in receiver.on_block(block, data[block * BLOCK_SIZE : (block + 1) * BLOCK_SIZE]):
            if isinstance(out, Write):
                partial.write(out.block, out.data)
            elif isinstance(out, Verified):
                partial.finish(overwrite=False)
        if not receiver.finished:
            partial.save(receiver)


def test_partial_data_resumes_and_becomes_the_file_only_when_whole(tmp_path: Path) -> None:
    data = os.urandom(3 * BLOCK_SIZE + 17)
    target = tmp_path / "sub" / "f.bin"
    first = PartialFile(target, root_of_bytes(data), len(data))
    receive_all(first, data, [0, 1])
    first.close()
    assert not target.exists()
    assert first.data_path.name == "f.bin.peerlane-part"
    again = PartialFile(target, root_of_bytes(data), len(data))
    assert again.receiver().verified == {0, 1}  # a rerun starts at block 2
    receive_all(again, data, [2, 3])
    assert target.read_bytes() == data
    assert not again.data_path.exists()
    assert not again.state_path.exists()


def test_partial_data_of_another_file_is_started_over(tmp_path: Path) -> None:
    data = os.urandom(2 * BLOCK_SIZE)
    target = tmp_path / "f.bin"
    receive_all(PartialFile(target, root_of_bytes(data), len(data)), data, [0])
    other = PartialFile(target, "00" * 32, len(data))
    assert other.receiver().verified == set()
    hashes = [h.hex() for h in block_hashes_of(data)]
    known = PartialFile(target, root_of_bytes(data), len(data)).receiver()
    # A downloaded block before the hash list: kept with its hash, checked at the end.
    assert (known.verified, known.unlisted, known.hashes) == ({0}, {0: hashes[0]}, [])


def test_a_file_that_appears_meanwhile_is_kept_and_the_data_too(tmp_path: Path) -> None:
    data = b"hello"
    target = tmp_path / "f.txt"
    partial = PartialFile(target, root_of_bytes(data), len(data))
    partial.write(0, data)
    target.write_text("someone else's")
    with pytest.raises(PeerError) as refused:
        partial.finish(overwrite=False)
    assert refused.value.exit_code == EXIT_FAILED
    assert target.read_text() == "someone else's"
    assert partial.data_path.read_bytes() == data
    partial.finish(overwrite=True)
    assert target.read_bytes() == data


def test_an_empty_file_arrives_as_an_empty_file(tmp_path: Path) -> None:
    partial = PartialFile(tmp_path / "d" / "empty", root_of_bytes(b""), 0)
    receiver = partial.receiver()
    assert receiver.start() == [Verified(root_of_bytes(b""))]
    partial.finish(overwrite=False)
    assert (tmp_path / "d" / "empty").read_bytes() == b""


def test_unwritable_folders_are_said_in_words(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    partial = PartialFile(blocked / "f.bin", root_of_bytes(b"abc"), 3)
    with pytest.raises(PeerError, match="cannot be written"):
        partial.write(0, b"abc")


def test_send_offers_files_by_name_and_directories_with_their_structure(tmp_path: Path) -> None:
    (tmp_path / "photos" / "2024").mkdir(parents=True)
    (tmp_path / "photos" / "2024" / "b.jpg").write_bytes(b"b")
    (tmp_path / "photos" / "a.jpg").write_bytes(b"a")
    (tmp_path / "notes.txt").write_bytes(b"n" * (BLOCK_SIZE + 1))
    found = files_to_send([tmp_path / "notes.txt", tmp_path / "photos"])
    assert [name for _, name in found] == ["notes.txt", "photos/a.jpg", "photos/2024/b.jpg"]
    size, root, hashes = hash_file(tmp_path / "notes.txt")
    assert (size, root) == (BLOCK_SIZE + 1, root_of_bytes(b"n" * (BLOCK_SIZE + 1)))
    assert len(hashes) == 2
    with pytest.raises(PeerError, match="neither a file nor a directory"):
        files_to_send([tmp_path / "missing"])
    (tmp_path / "void").mkdir()
    with pytest.raises(PeerError, match="no files to send"):
        files_to_send([tmp_path / "void"])
