"""Assignment specs are validated, and errors name the file and the field."""

from __future__ import annotations

import pytest

from grader.spec import SPEC_FILE, SpecError, discover, load_spec


def _write(tmp_path, text):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / SPEC_FILE).write_text(text)
    return folder


def test_shipped_specs_are_valid():
    names = [spec.name for spec in discover()]
    assert names[:3] == ["my_linear", "training_loop", "scratch_lr"]


def test_bad_field_names_file_and_field(tmp_path):
    folder = _write(tmp_path, 'title = "x"\nstudent_file = "demo.py"\npoints = -1\n')
    with pytest.raises(SpecError) as error:
        load_spec(folder)
    assert str(folder / SPEC_FILE) in str(error.value)
    assert "field 'points'" in str(error.value)


def test_unknown_field_is_rejected(tmp_path):
    folder = _write(tmp_path, 'title = "x"\nstudent_file = "demo.py"\npoints = 1\ncolour = 1\n')
    with pytest.raises(SpecError, match="field 'colour'"):
        load_spec(folder)


def test_invalid_toml_is_reported(tmp_path):
    folder = _write(tmp_path, "title = \n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(folder)
