"""Unpacking student archives: every hostile shape is refused or defanged, with a reason."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.batch import archives
from grader.batch.archives import Rejected, unpack
from tests.batch_helpers import zip_with_link
from tests.conftest import REFERENCE


def _zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as bundle:
        for member, data in members:
            member.size = len(data) if member.isreg() else 0
            bundle.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    return member


def test_a_zipped_folder_is_graded_from_inside_its_top_folder(tmp_path):
    source = {f"alice/{p.name}": p.read_bytes() for p in REFERENCE.glob("*.py")}
    source["__MACOSX/alice/._my_linear.py"] = b"junk"
    unpacked = unpack(_zip(tmp_path / "alice.zip", source), tmp_path / "out")
    assert unpacked.folder == tmp_path / "out" / "alice"
    assert sorted(p.name for p in unpacked.folder.iterdir()) == sorted(
        p.name for p in REFERENCE.glob("*.py")
    )
    assert not (tmp_path / "out" / "__MACOSX").exists() and unpacked.notes == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.py", "would be unpacked outside"),
        ("a/../../evil.py", "would be unpacked outside"),
        ("..\\evil.py", "would be unpacked outside"),
        ("/etc/evil.py", "absolute path"),
        ("C:/evil.py", "absolute path"),
    ],
)
def test_paths_leaving_the_folder_refuse_the_archive(tmp_path, name, reason):
    archive = _zip(tmp_path / "s.zip", {"my_linear.py": b"x = 1\n", name: b"x = 2\n"})
    with pytest.raises(Rejected, match=reason):
        unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.py").exists()
    tarball = _tar(tmp_path / "s.tar.gz", [(_member(name), b"x = 2\n")])
    with pytest.raises(Rejected, match=reason):
        unpack(tarball, tmp_path / "out-tar")


def test_links_are_left_out_with_a_note(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"my_linear.py": b"x = 1\n"})
    zip_with_link(archive, "answers.py", "/etc/passwd")
    unpacked = unpack(archive, tmp_path / "zip")
    assert not (unpacked.folder / "answers.py").exists()
    assert unpacked.notes == ["answers.py is a link inside the archive and was not unpacked"]
    tarball = _tar(
        tmp_path / "s.tgz",
        [
            (_member("my_linear.py"), b"x = 1\n"),
            (_member("soft.py", tarfile.SYMTYPE, "/etc/passwd"), b""),
            (_member("hard.py", tarfile.LNKTYPE, "my_linear.py"), b""),
        ],
    )
    unpacked = unpack(tarball, tmp_path / "tar")
    assert sorted(p.name for p in unpacked.folder.iterdir()) == ["my_linear.py"]
    assert len(unpacked.notes) == 2


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_pipes_refuse_the_archive(tmp_path, kind):
    tarball = _tar(tmp_path / "s.tar", [(_member("dev", kind), b"")], mode="w")
    with pytest.raises(Rejected, match="device, pipe or other special file"):
        unpack(tarball, tmp_path / "out")


def test_a_zip_device_entry_refuses_the_archive(tmp_path):
    info = zipfile.ZipInfo("null")
    info.create_system = 3
    info.external_attr = (stat.S_IFCHR | 0o666) << 16
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as bundle:
        bundle.writestr(info, b"")
    with pytest.raises(Rejected, match="special file"):
        unpack(tmp_path / "s.zip", tmp_path / "out")


def test_a_compression_bomb_is_refused_while_reading(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"my_linear.py": bytes(8 << 20)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(Rejected, match="times its own size"):
        unpack(archive, tmp_path / "out")
    tarball = _tar(tmp_path / "bomb.tar.gz", [(_member("a.py"), bytes(8 << 20))])
    with pytest.raises(Rejected, match="times its own size"):
        unpack(tarball, tmp_path / "out-tar")


def test_size_and_count_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1000)
    stored = _zip(tmp_path / "big.zip", {"a.py": bytes(1500)}, zipfile.ZIP_STORED)
    with pytest.raises(Rejected, match="unpacks to more than"):
        unpack(stored, tmp_path / "out")
    monkeypatch.setattr(archives, "MAX_ENTRIES", 5)
    many = _zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(6)})
    with pytest.raises(Rejected, match="more than 5 entries"):
        unpack(many, tmp_path / "out-many")


def test_encrypted_corrupt_and_unsupported_archives(tmp_path):
    _zip(tmp_path / "locked.zip", {"my_linear.py": b"x"}, zipfile.ZIP_STORED)
    raw = bytearray((tmp_path / "locked.zip").read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        raw[raw.index(signature) + flag_offset] |= 0x1  # the "encrypted" bit, as zip tools set it
    (tmp_path / "locked.zip").write_bytes(bytes(raw))
    with pytest.raises(Rejected, match="encrypted"):
        unpack(tmp_path / "locked.zip", tmp_path / "a")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(Rejected, match="could not be read"):
        unpack(tmp_path / "broken.zip", tmp_path / "b")
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(Rejected, match="could not be read"):
        unpack(tmp_path / "broken.tar.gz", tmp_path / "c")
    (tmp_path / "work.rar").write_bytes(b"Rar!")
    with pytest.raises(Rejected, match=r"\.rar archives are not supported"):
        unpack(tmp_path / "work.rar", tmp_path / "d")


def test_duplicate_entries_refuse_the_archive(tmp_path):
    with zipfile.ZipFile(tmp_path / "dup.zip", "w") as bundle:
        bundle.writestr("a.py", b"1")
        with pytest.warns(UserWarning):
            bundle.writestr("a.py", b"2")
    with pytest.raises(Rejected, match="appears twice"):
        unpack(tmp_path / "dup.zip", tmp_path / "out")


def test_student_ids_from_archive_names():
    assert archives.student_id(Path("alice.tar.gz")) == "alice"
    assert archives.student_id(Path("bob.ZIP")) == "bob"
    assert archives.student_id(Path("carol")) == "carol"
    assert archives.archive_suffix(Path("notes.txt")) is None
    assert archives.archive_suffix(Path(".zip")) is None


@pytest.mark.parametrize("order", [("a", "a/b"), ("a/b", "a")])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_file_clashing_with_a_folder_refuses_the_archive_without_a_scratch_path(
    tmp_path, kind, order
):
    archive = tmp_path / f"clash.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as bundle:
            for name in order:
                bundle.writestr(name, b"1")
    else:
        with tarfile.open(archive, "w") as bundle:
            for name in order:
                member = tarfile.TarInfo(name)
                member.size = 1
                bundle.addfile(member, io.BytesIO(b"1"))
    scratch = tmp_path / "scratch"
    with pytest.raises(Rejected, match="appears twice or clashes with a folder") as caught:
        unpack(archive, scratch)
    assert str(tmp_path) not in str(caught.value)
    assert not scratch.exists()
