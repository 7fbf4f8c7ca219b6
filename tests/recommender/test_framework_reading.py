"""Reading skills frameworks: ESCO's CSV shape (labels in English and Chinese, the hierarchy)
and the simple CSV; every fault named by file and line, and nothing read when there is one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recommender.frameworks.reading import read_framework
from recommender.frameworks.types import FrameworkInvalidError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "frameworks"
ESCO = FIXTURES / "esco"
IDS = dict(line.split() for line in (FIXTURES / "ids.txt").read_text().splitlines())


def test_esco_keeps_uris_labels_in_both_languages_alt_labels_and_hierarchy() -> None:
    framework = read_framework(ESCO / "skills_en.csv", "esco")
    assert framework.summary()["skills"] == 34 and framework.summary()["groups"] == 2
    assert framework.languages == ["en", "zh"]
    tune = framework.concept(IDS["tune-hyperparameters"])
    assert tune is not None and tune.kind == "skill"
    assert tune.labels == {"en": "tune hyperparameters", "zh": "调整超参数"}
    # altLabels: one per line inside the quoted field, as ESCO writes them
    assert tune.alt_labels["en"] == ("hyper-parameter optimisation", "hyperparameter search")
    assert tune.alt_labels["zh"] == ("超参数调优",)
    assert tune.broader == (IDS["optimise-models"],)  # a skill under a skill
    text = framework.concept(IDS["preprocess-text"])
    assert text is not None and text.broader == (IDS["g-data"],)  # a skill under a group
    group = framework.concept(IDS["g-data"])
    assert group is not None and group.kind == "group" and group.label("en") == "working with data"


def test_esco_folder_and_language_choice(tmp_path: Path) -> None:
    english = read_framework(ESCO, "esco", languages=("en",), name="ESCO 1.2")
    assert english.name == "ESCO 1.2" and english.languages == ["en"]


def test_simple_csv_matches_the_esco_reading() -> None:
    simple = read_framework(FIXTURES / "simple.csv", "csv")
    esco = read_framework(ESCO, "esco")
    skills = {c.label(): c.labels for c in simple.skills}
    assert skills == {c.label(): c.labels for c in esco.skills} and len(skills) == 34
    assert simple.concept("tune-hyperparameters").broader == ("optimise-models",)  # type: ignore[union-attr]
    assert simple.name == "simple"


def _faults(path: Path, fmt: str) -> list[str]:
    with pytest.raises(FrameworkInvalidError) as caught:
        read_framework(path, fmt)
    assert "nothing was imported" in str(caught.value)
    return [str(f) for f in caught.value.faults]


def test_bad_simple_csv_names_each_line(tmp_path: Path) -> None:
    bad = tmp_path / "fw.csv"
    bad.write_text(
        "id,label_en,label_zh,broader\n"
        "a,alpha,甲,\n"
        ",no id,,\n"  # line 3
        "a,again,,\n"  # line 4
        "b,,,\n"  # line 5
        'c,"two\nlines",,zzz\n'  # line 6, spans 7
        "d,delta,,a\n",
        encoding="utf-8",
    )
    assert _faults(bad, "csv") == [
        "fw.csv: line 3: has no id",
        "fw.csv: line 4: repeats id a (first on line 2)",
        "fw.csv: line 5: b has no label in any label_ column",
        "fw.csv: line 6: broader zzz of c is not an id of this file",
    ]


def test_simple_csv_narrower_is_the_other_way_up(tmp_path: Path) -> None:
    path = tmp_path / "fw.csv"
    path.write_text("id,kind,label_en,narrower,broader\ng,group,ML,a|b,\na,,alpha,,g\nb,,beta,,\n")
    framework = read_framework(path, "csv")
    assert [(c.id, c.broader) for c in framework.concepts] == [
        ("g", ()),
        ("a", ("g",)),
        ("b", ("g",)),
    ]
    path.write_text("id,label_en,narrower\na,alpha,zz\n")
    assert _faults(path, "csv") == ["fw.csv: line 2: narrower zz of a is not an id of this file"]


def test_simple_csv_header_and_encoding_faults(tmp_path: Path) -> None:
    header = tmp_path / "h.csv"
    header.write_text("ident,lable_en\nx,y\n")
    (fault,) = _faults(header, "csv")
    assert fault.startswith("h.csv: line 1: needs an id column and at least one label_")
    assert "unknown column(s) ident, lable_en" in fault
    latin = tmp_path / "l.csv"
    latin.write_bytes("id,label_en\nx,ok\ny,caf\xe9\n".encode("latin-1"))
    assert _faults(latin, "csv") == [
        "l.csv: line 3: is not UTF-8 text: save it as UTF-8 and import again"
    ]


def test_bad_esco_files_name_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "esco"
    shutil.copytree(ESCO, folder)
    zh = folder / "skills_zh.csv"
    lines = zh.read_text(encoding="utf-8").split("\n")
    zh.write_text(
        "\n".join(
            lines[:3] + ["KnowledgeSkillCompetence,http://example.org/nope,,,x,,,,,,,,"] + lines[3:]
        ),
        encoding="utf-8",
    )
    broader = folder / "broaderRelationsSkillPillar.csv"
    broader.write_text(
        broader.read_text(encoding="utf-8")
        + "KnowledgeSkillCompetence,http://example.org/ghost,KnowledgeSkillCompetence,"
        + IDS["optimise-models"]
        + "\n",
        encoding="utf-8",
    )
    faults = _faults(folder / "skills_en.csv", "esco")
    assert any(
        f.startswith("skills_zh.csv: line 4: http://example.org/nope is not in the English file")
        for f in faults
    ), faults
    last = len(broader.read_text(encoding="utf-8").splitlines())
    assert (
        f"broaderRelationsSkillPillar.csv: line {last}: "
        "http://example.org/ghost is not a skill of skills_en.csv" in faults
    )
    assert len(faults) == 2


def test_missing_esco_columns(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv").write_text("conceptUri,label\nx,y\n")
    assert _faults(tmp_path / "skills_en.csv", "esco") == [
        "skills_en.csv: line 1: lacks the column(s) preferredLabel of ESCO's CSV"
    ]


# -- SKOS (rdflib) --------------------------------------------------------------------------------
def test_skos_reads_the_same_framework_as_the_csv() -> None:
    skos = read_framework(FIXTURES / "skills.ttl", "skos")
    esco = read_framework(ESCO, "esco")
    assert skos.format == "skos" and skos.name == "skills"
    by_id = {c.id: c for c in skos.concepts}
    assert set(by_id) == {c.id for c in esco.concepts}
    for concept in esco.skills:  # every skill's labels, alt labels, description and broader
        assert by_id[concept.id] == concept
    assert by_id[IDS["g-ml"]].kind == "group" and by_id[IDS["g-ml"]].labels["zh"] == "机器学习工程"
    # `--format esco` given ESCO's RDF download reads it as SKOS
    assert read_framework(FIXTURES / "skills.ttl", "esco").concepts == skos.concepts


def test_bad_skos_names_the_concept(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        '<http://x/a> a skos:Concept ; skos:prefLabel "alpha"@en ; skos:broader <http://x/zz> .\n'
        "<http://x/b> a skos:Concept .\n",
        encoding="utf-8",
    )
    assert _faults(bad, "skos") == [
        "bad.ttl: http://x/a: broader http://x/zz is not a concept of the file",
        "bad.ttl: http://x/b: has no skos:prefLabel",
    ]
    broken = tmp_path / "broken.ttl"
    broken.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<http://x/a> a skos:Concept .\n"
        '<http://x/b> a skos:Concept ; skos:prefLabel "b"@en . . oops\n'
    )
    assert _faults(broken, "skos") == [
        "broken.ttl: line 3: is not valid turtle (expected directive or statement)"
    ]
