"""Untrusted inputs: any file name, the source a reader sees, no shipped bytecode (issue 10).

Every hostile name and file is made at test time: names that are not UTF-8 cannot live in
git, and pycs are ignored by it.
"""

from __future__ import annotations

import base64
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader import integrity
from grader.sandbox import source
from tests.batch_helpers import run_batch
from tests.conftest import REFERENCE, TEMPLATE, run_cli
from tests.test_inert import assert_inert

CP949_NAME = "한글노트".encode("cp949") + b".txt"
HOSTILE_NAMES = [
    CP949_NAME,
    b"caf\xe9.txt",
    b"new\nline.py",
    b"tab\tname.txt",
    b"ev\x1b[31mil.txt",
    "read\u202etxt.py".encode(),
    "zero\u200bwidth.py".encode(),
    b"::notice::Points 30 of 30.txt",
]
FORMATS = ("classroom", "gradescope", "junit", "markdown")


def _write(folder: Path, name: bytes, data: bytes) -> None:
    path = os.path.join(os.fsencode(folder), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def _with_hostile_names(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    shutil.copy(REFERENCE / "my_linear.py", folder / "my_linear.py")
    for number, name in enumerate(HOSTILE_NAMES):
        _write(folder, name, f"data {number}\n".encode())
    _write(folder, b"dir\xff\xfe/inside.txt", b"nested\n")
    return folder


def _submit(folder: Path, out: Path, *args: str) -> dict[str, Any]:
    result = run_cli("submit", folder, "--out", out, "-a", "my_linear", *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    report = json.loads((out / "report.json").read_text())
    report["_terminal"] = result.output
    return report


def _all_outputs(out: Path, terminal: str = "") -> dict[str, str]:
    """Every text a format wrote, decoded the way its reader decodes it."""
    texts = {"terminal": terminal}
    for path in sorted(out.iterdir()):
        raw = path.read_text()
        if path.name == "classroom-output.txt":
            raw = base64.b64decode(raw.removeprefix("result=")).decode()
        if path.suffix == ".json" or path.name == "classroom-output.txt":
            raw = json.dumps(json.loads(raw), ensure_ascii=False)
        texts[path.name] = raw
    return texts


# --- any file name ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> dict[str, Any]:
    folder = _with_hostile_names(tmp_path_factory.mktemp("names"))
    out = tmp_path_factory.mktemp("names-out")
    args = [arg for name in FORMATS for arg in ("--format", name)]
    report = _submit(folder, out, *args)
    return {"folder": folder, "out": out, "report": report}


def test_hostile_file_names_are_staged_and_the_report_is_written(named):
    report = named["report"]
    assert report["complete"]
    my_linear = report["assignments"][0]
    assert my_linear["score"] == my_linear["max_score"] > 0
    files = {f["path"]: f for f in report["submission"]["files"]}
    raw_names = {bytes.fromhex(f["name_hex"]) for f in files.values() if f["name_hex"]}
    expected = {*HOSTILE_NAMES, b"dir\xff\xfe/inside.txt"}
    assert raw_names == expected
    assert "caf\\xe9.txt" in files and "new\\x0aline.py" in files
    assert "read\\u202etxt.py" in files and "dir\\xff\\xfe/inside.txt" in files
    assert ": :notice: :Points 30 of 30.txt" in files
    assert files["my_linear.py"]["name_hex"] == ""
    notes = report["submission"]["problems"]
    assert len([n for n in notes if "shown escaped" in n]) == len(expected)


def test_hostile_file_names_are_flagged_only_when_they_hide_characters(named):
    flagged = {f["file"] for f in named["report"]["integrity"] if f["code"] == "file-name"}
    assert flagged == {
        "new\\x0aline.py",
        "tab\\x09name.txt",
        "ev\\x1b[31mil.txt",
        "read\\u202etxt.py",
        "zero\\u200bwidth.py",
    }


def test_hostile_file_names_are_inert_in_every_format(named):
    texts = _all_outputs(named["out"], named["report"]["_terminal"])
    assert set(texts) >= {"terminal", "report.json", "results.json", "junit.xml", "report.md"}
    for where, text in texts.items():
        assert_inert(text, where, allow_double_colon=where == "report.json")
    assert "read\\u202etxt.py" in texts["terminal"]
    assert "\\x1b[31m" in texts["terminal"]


def test_the_content_hash_tells_raw_names_apart(tmp_path):
    from grader.sandbox.staging import stage

    hashes = set()
    for name in (b"caf\xe9.txt", b"caf\\xe9.txt", "café.txt".encode()):
        folder = tmp_path / str(len(hashes))
        folder.mkdir()
        _write(folder, name, b"same\n")
        (tmp_path / f"staged{len(hashes)}").mkdir()
        hashes.add(stage(folder, tmp_path / f"staged{len(hashes)}" / "s").content_hash)
    assert len(hashes) == 3


def _cp949_zip(archive: Path) -> None:
    """A zip as Korean Windows writes it: CP949 names, no UTF-8 flag (bit 11). zipfile would
    set the flag for any non-ASCII name, so ASCII stand-ins of the same length are written and
    their bytes replaced by the CP949 names in the local and central headers."""
    names = [CP949_NAME, "과제/설명.txt".encode("cp949")]
    stand_ins = [f"Z{i}".encode().ljust(len(raw), b"Z") for i, raw in enumerate(names)]
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(REFERENCE / "my_linear.py", "my_linear.py")
        for stand_in in stand_ins:
            bundle.writestr(stand_in.decode(), b"notes\n")
    data = archive.read_bytes()
    for stand_in, raw in zip(stand_ins, names, strict=True):
        assert data.count(stand_in) == 2
        data = data.replace(stand_in, raw)
    archive.write_bytes(data)
    with zipfile.ZipFile(archive) as check:
        assert not any(info.flag_bits & 0x800 for info in check.infolist())
        assert check.namelist()[1] == CP949_NAME.decode("cp437")


def test_batch_grades_hostile_names_in_folders_zips_and_tars(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    _with_hostile_names(root / "folder_student")
    _cp949_zip(root / "korean_windows.zip")
    with tarfile.open(root / "raw_tar.tar.gz", "w:gz") as bundle:
        bundle.add(REFERENCE / "my_linear.py", "my_linear.py")
        bundle.add(root / "folder_student" / "my_linear.py", os.fsdecode(b"bad\xff\n.txt"))
    _with_hostile_names(root / os.fsdecode("학생\u202e".encode() + b"\xff"))
    out = tmp_path / "out"
    done = run_batch(root, "--out", out, "-a", "my_linear", "--jobs", "1", "--format", "junit")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    students = {
        p.name: json.loads((p / "report.json").read_text()) for p in out.iterdir() if p.is_dir()
    }
    assert set(students) == {"folder_student", "korean_windows", "raw_tar", "학생\\u202e\\xff"}
    for name, report in students.items():
        assert report["complete"], name
        assert report["assignments"][0]["score"] == report["assignments"][0]["max_score"], name
        assert_inert(json.dumps(report, ensure_ascii=False), name, allow_double_colon=True)
    korean = students["korean_windows"]
    paths = {f["path"] for f in korean["submission"]["files"]}
    assert {"한글노트.txt", "과제/설명.txt"} <= paths
    assert any("CP949" in note for note in korean["submission"]["problems"])
    tarred = {f["path"]: f["name_hex"] for f in students["raw_tar"]["submission"]["files"]}
    assert tarred["bad\\xff\\x0a.txt"] == b"bad\xff\n.txt".hex()
    gradebook = (out / "gradebook.csv").read_text()
    assert_inert(gradebook, "gradebook.csv")


# --- what runs is what a reader sees --------------------------------------------------------------

UTF7_TRICK = b"# -*- coding: utf-7 -*-\nimport torch\n# nothing to see here +AAo-HIDDEN = 'ran'\n"


def test_the_utf7_trick_is_real():
    """Positive control: Python runs the line an editor shows as a comment."""
    namespace: dict[str, Any] = {}
    exec(compile(UTF7_TRICK, "trick.py", "exec"), namespace)
    assert namespace["HIDDEN"] == "ran"
    assert source.unreadable(UTF7_TRICK) is not None


@pytest.mark.parametrize(
    "raw",
    [
        b"x = 1\n",
        b"\xef\xbb\xbfx = '\xed\x95\x9c'\n",
        b"# -*- coding: utf-8 -*-\nx = 1\n",
        b"# coding=utf8\n",
        b"#!/usr/bin/env python\n# vim: set fileencoding=UTF-8-sig :\nx = 1\n",
        b"\xef\xbb\xbf# coding: utf-8\nx = 1\n",
        b"# coding: latin-1\nx = 'plain ascii'\n",
    ],
)
def test_utf8_and_its_aliases_are_accepted(raw):
    assert source.unreadable(raw) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (UTF7_TRICK, "source_cookie"),
        ("# 한글 주석\nx = 1\n".encode("cp949"), "source_not_utf8"),
        (b"# coding: latin-1\nx = '\xc3\xa9'\n", "source_cookie"),
        (b"# coding: no-such-codec\nx = 1\n", "source_bad_cookie"),
        (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "source_bad_cookie"),
    ],
)
def test_other_encodings_are_refused(raw, key):
    problem = source.unreadable(raw)
    assert problem is not None and problem.key == key


def _encoding_submission(folder: Path) -> Path:
    utf7 = REFERENCE.joinpath("my_linear.py").read_bytes()
    (folder / "my_linear.py").write_bytes(b"# -*- coding: utf-7 -*-\n" + utf7 + b"# +AAo-x = 1\n")
    training = REFERENCE.joinpath("training_loop.py").read_bytes()
    (folder / "training_loop.py").write_bytes(b"\xef\xbb\xbf# coding: UTF-8-sig\n" + training)
    return folder


def test_a_utf7_cookie_fails_its_exercise_once_and_the_rest_is_graded(tmp_path):
    (tmp_path / "sub").mkdir()
    folder = _encoding_submission(tmp_path / "sub")
    report = _submit(folder, tmp_path / "out", "-a", "training_loop")
    my_linear, training = report["assignments"]
    assert my_linear["status"] == "graded" and my_linear["score"] == 0 and not my_linear["checks"]
    assert "utf-7" in my_linear["message"] and "UTF-8" in my_linear["message"]
    assert training["status"] == "graded" and training["score"] == training["max_score"] > 0
    flags = {(f["file"], f["code"]) for f in report["integrity"]}
    assert ("my_linear.py", "source-encoding") in flags
    assert report["_terminal"].count("utf-7") == 1


def test_a_cp949_helper_fails_the_exercise_that_imports_it_in_korean(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    reference = REFERENCE.joinpath("my_linear.py").read_text()
    (folder / "my_linear.py").write_text("import helper\n" + reference)
    (folder / "helper.py").write_bytes("# 도우미 모듈\nSCALE = 1\n".encode("cp949"))
    report = _submit(folder, tmp_path / "out", "--lang", "ko")
    my_linear = report["assignments"][0]
    assert my_linear["status"] == "graded" and my_linear["score"] == 0
    assert "helper.py" in my_linear["message"] and "CP949" in my_linear["message"]
    assert "UTF-8" in my_linear["message"] and "Save with Encoding" in my_linear["message"]
    assert "저장" in my_linear["message"]


def test_a_dynamically_imported_unreadable_helper_is_refused_in_the_sandbox(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    reference = REFERENCE.joinpath("my_linear.py").read_text()
    dynamic = "import importlib\nimportlib.import_module('hel' + 'per')\n"
    (folder / "my_linear.py").write_text(dynamic + reference)
    (folder / "helper.py").write_bytes(UTF7_TRICK)
    report = _submit(folder, tmp_path / "out")
    my_linear = report["assignments"][0]
    assert my_linear["score"] == 0 and my_linear["checks"]
    assert all("utf-7" in c["message"] for c in my_linear["checks"])


def test_invisible_characters_in_source_are_flagged_with_file_and_line(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "my_linear.py").write_text(
        "x = 1\n"
        'access = "user\u202e \u2066# admin\u2069\u2066"\n'
        "y = 2  # zero\u200bwidth\n"
        "\ufeffz = 3\n"
    )
    (folder / "clean.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    found = [(f.file, f.line, f.code) for f in integrity.scan(folder) if "invisible" in f.code]
    assert found == [
        ("my_linear.py", 2, "invisible-source"),
        ("my_linear.py", 3, "invisible-source"),
        ("my_linear.py", 4, "invisible-source"),
    ]
    reason = next(f.reason for f in integrity.scan(folder) if f.line == 2)
    assert "\\u202e" in reason and "\\u2066" in reason and "\u202e" not in reason


# --- shipped bytecode and shadowing -------------------------------------------------------------


def _unchecked_pyc(source_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    py_compile.compile(
        str(source_file),
        cfile=str(target),
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


@pytest.fixture(scope="module")
def template_score(tmp_path_factory) -> float:
    folder = tmp_path_factory.mktemp("template")
    shutil.copy(TEMPLATE / "my_linear.py", folder / "my_linear.py")
    return _submit(folder, tmp_path_factory.mktemp("template-out"))["assignments"][0]["score"]


def test_shipped_bytecode_extensions_and_packages_are_never_imported(tmp_path, template_score):
    folder = tmp_path / "sub"
    folder.mkdir()
    shutil.copy(TEMPLATE / "my_linear.py", folder / "my_linear.py")
    tag = sys.implementation.cache_tag
    _unchecked_pyc(REFERENCE / "my_linear.py", folder / "__pycache__" / f"my_linear.{tag}.pyc")
    _unchecked_pyc(REFERENCE / "my_linear.py", folder / "my_linear.pyc")
    (folder / "my_linear.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF junk")
    (folder / "my_linear.pyd").write_bytes(b"MZ junk")
    (folder / "my_linear").mkdir()
    shutil.copy(REFERENCE / "my_linear.py", folder / "my_linear" / "__init__.py")
    report = _submit(folder, tmp_path / "out")
    assert (
        report["assignments"][0]["score"] == template_score < report["assignments"][0]["max_score"]
    )
    codes = {(f["file"], f["code"]) for f in report["integrity"]}
    assert {
        ("__pycache__", "shipped-bytecode"),
        ("my_linear.pyc", "shipped-bytecode"),
        ("my_linear.cpython-311-x86_64-linux-gnu.so", "shipped-extension"),
        ("my_linear.pyd", "shipped-extension"),
        ("my_linear", "shipped-package"),
    } <= codes
    staged = {f["path"] for f in report["submission"]["files"]}
    assert staged == {"my_linear.py"}
    assert len(report["submission"]["problems"]) == 5


def test_an_honest_bytecode_cache_is_noted_but_not_flagged(tmp_path):
    from grader.sandbox.staging import stage

    folder = tmp_path / "sub"
    folder.mkdir()
    shutil.copy(REFERENCE / "my_linear.py", folder / "my_linear.py")
    tag = sys.implementation.cache_tag
    py_compile.compile(
        str(folder / "my_linear.py"), cfile=str(folder / "__pycache__" / f"my_linear.{tag}.pyc")
    )
    staged = stage(folder, tmp_path / "staged")
    assert staged.findings == [] and len(staged.problems) == 1
    assert not (tmp_path / "staged" / "__pycache__").exists()


PROBE = """
import sys
from grader.sandbox import source
folder = sys.argv[1]
if sys.argv[2] == "guarded":
    source.source_only_imports(folder)
sys.path.insert(0, folder)
import helper
print(helper.VALUE)
"""


def test_the_child_imports_source_only_and_writes_no_bytecode(tmp_path):
    """Inside the sandbox child, a planted unchecked pyc is ignored (it is used without the
    guard: the positive control) and nothing is cached next to the source."""
    (tmp_path / "helper.py").write_text("VALUE = 'source'\n")
    planted = tmp_path / "planted.py"
    planted.write_text("VALUE = 'planted pyc'\n")
    tag = sys.implementation.cache_tag
    _unchecked_pyc(planted, tmp_path / "__pycache__" / f"helper.{tag}.pyc")
    planted.unlink()

    def run(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path), mode],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
        )
        return done.stdout.strip()

    assert run("plain") == "planted pyc"
    assert run("guarded") == "source"
    shutil.rmtree(tmp_path / "__pycache__")
    assert run("guarded") == "source"
    assert not (tmp_path / "__pycache__").exists()
