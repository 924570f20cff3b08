"""Hostile and broken label files: each gives a clear error naming the file and the place, and the
session file stays exactly as it was."""

from __future__ import annotations

import json

import pytest

from harlab.cli import main
from harlab.core.errors import ImportFormatError
from harlab.labelfiles import ImportRequest, import_into_file
from harlab.labelfiles.label_source import MAX_LABEL_FILE_BYTES
from tests.labelfiles.label_sessions import digest, empty_target

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i + 1} "{("&lol" + (str(i) if i else "") + ";") * 10}">' for i in range(9))
    + ']>\n<ANNOTATION_DOCUMENT><TIER TIER_ID="a">&lol9;</TIER></ANNOTATION_DOCUMENT>\n'
)

CASES = {
    # name: (file name, content, message fragment)
    "billion laughs": ("bomb.eaf", LAUGHS, "document type declaration"),
    "external entity": (
        "xxe.eaf",
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><ANNOTATION_DOCUMENT>&x;</ANNOTATION_DOCUMENT>',
        "document type declaration",
    ),
    "malformed xml": (
        "bad.eaf",
        "<ANNOTATION_DOCUMENT>\n<TIER>\n</ANNOTATION_DOCUMENT>",
        "line 3: not well-formed XML",
    ),
    "wrong root": ("root.eaf", "<html/>", "root element <html>"),
    "slot value not a number": (
        "slot.eaf",
        '<ANNOTATION_DOCUMENT><TIME_ORDER><TIME_SLOT TIME_SLOT_ID="t1" TIME_VALUE="1e400"/></TIME_ORDER></ANNOTATION_DOCUMENT>',
        "time slot t1: TIME_VALUE '1e400'",
    ),
    "dangling slot": (
        "dangle.eaf",
        '<ANNOTATION_DOCUMENT><TIME_ORDER/><TIER TIER_ID="a"><ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" '
        'TIME_SLOT_REF1="t1" TIME_SLOT_REF2="t2"><ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION>'
        "</ANNOTATION></TIER></ANNOTATION_DOCUMENT>",
        "annotation a1: time slot 't1' is not in TIME_ORDER",
    ),
    "reference cycle": (
        "cycle.eaf",
        '<ANNOTATION_DOCUMENT><TIER TIER_ID="a"><ANNOTATION><REF_ANNOTATION ANNOTATION_ID="r1" ANNOTATION_REF="r2">'
        "<ANNOTATION_VALUE>x</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION><ANNOTATION><REF_ANNOTATION "
        'ANNOTATION_ID="r2" ANNOTATION_REF="r1"><ANNOTATION_VALUE>y</ANNOTATION_VALUE></REF_ANNOTATION>'
        "</ANNOTATION></TIER></ANNOTATION_DOCUMENT>",
        "nested deeper than 32 (or a cycle)",
    ),
    "deep json": ("deep.json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    "json nan": (
        "nan.json",
        '[{"annotations": [{"result": [{"type": "timeserieslabels", "value": {"start": NaN}}]}]}]',
        "NaN is not a valid value",
    ),
    "json wrong types": (
        "types.json",
        '[{"annotations": [{"result": [{"type": "timeserieslabels", "value": {"start": "soon", "end": 2, "timeserieslabels": ["a"]}}]}]}]',
        "task 1, annotation 1, result 1: time 'soon'",
    ),
    "json classes not a list": (
        "cls.json",
        '[{"annotations": [{"result": [{"type": "timeserieslabels", "value": {"start": 1, "end": 2, "timeserieslabels": 5}}]}]}]',
        "timeserieslabels 5",
    ),
    "json not tasks": ("obj.json", '{"annotations": 3}', "task 1 is not an object with an annotations list"),
    "json invalid": ("bad.json", '[{"annotations": [}', "invalid JSON"),
    "audacity text time": (
        "a.txt",
        "1.0\t2.0\twalk\nsoon\t3\tsit\n",
        "line 2: 'soon' is not a time in seconds",
    ),
    "audacity huge time": ("b.txt", "1e300\t1e301\twalk\n", "not a finite number of seconds"),
    "audacity binary": ("c.txt", "1.0\t2.0\twa\0lk\n", "NUL character"),
    "not utf8": ("d.txt", b"1.0\t2.0\t\xff\xfe\n", "not UTF-8 text"),
    "long class name": ("e.txt", "1\t2\t" + "x" * 300 + "\n", "class name of 300 characters"),
    "long annotator": (
        "h.csv",
        "start,end,label,annotator\n1,2,walk," + "a" * 300 + "\n",
        "line 2: annotator of 300 characters",
    ),
    "csv no columns": ("f.csv", "when,what\n1,walk\n", "no start, end, label column among when, what"),
    "csv text in time": (
        "g.csv",
        "start,end,label\n1,2,walk\n3,later,sit\n",
        "line 3: column 'end': 'later' is not a finite number",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_gives_a_clear_error_and_leaves_the_session(tmp_path, case):
    name, content, fragment = CASES[case]
    target = empty_target(tmp_path)
    before = digest(target)
    f = tmp_path / name
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFormatError) as err:
        import_into_file(target, f, ImportRequest(add_unknown=True, on_conflict="clip"))
    assert str(f) in str(err.value) and fragment in str(err.value)
    assert digest(target) == before


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys):
    target = empty_target(tmp_path)
    before = digest(target)
    for name in ("huge.eaf", "huge.csv", "huge.json", "huge.txt"):
        f = tmp_path / name
        with open(f, "wb") as out:  # sparse: the size is there, the disk blocks are not
            out.truncate(MAX_LABEL_FILE_BYTES + 1)
        assert (
            main(
                [
                    "labels",
                    "import",
                    str(target),
                    str(f),
                    "--format",
                    "audacity" if name.endswith("txt") else "auto",
                ]
            )
            == 2
        )
        err = capsys.readouterr().err
        assert name in err and str(MAX_LABEL_FILE_BYTES) in err
    assert digest(target) == before


def test_too_many_tracks_is_refused(tmp_path):
    target = empty_target(tmp_path)
    tasks = [
        {
            "annotations": [
                {
                    "result": [
                        {
                            "from_name": f"c{i}",
                            "type": "timeserieslabels",
                            "value": {"start": 1, "end": 2, "timeserieslabels": ["a"]},
                        }
                        for i in range(300)
                    ]
                }
            ]
        }
    ]
    f = tmp_path / "many.json"
    f.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="300 tracks"):
        import_into_file(target, f, ImportRequest(add_unknown=True))
