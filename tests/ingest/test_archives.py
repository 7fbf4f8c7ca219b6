"""Archives: each is opened once per ingest however many entries it holds, and entries that
are not plain files under plain names (nested archives, symbolic links, names with control
characters) are reported with a reason, by the command line and by the upload checks alike."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest import ingest_paths
from ingest.errors import UploadRefused
from ingest.sources.archives import ArchiveLimits, ArchiveRefused, survey
from ingest.uploads import IncomingFile, UploadLimits, spool_uploads
from kb import Embedder, KnowledgeBase
from tests.api_helpers import auth, files_part, running_client, wait_for_job
from tests.helpers import markdown_doc

REAL_DOC = markdown_doc(
    "Label smoothing", {"Lesson": "Label smoothing calmed the overconfident head."}
)


class CountingZipFile(zipfile.ZipFile):
    """zipfile.ZipFile that counts how often an archive is opened for reading."""

    opened = 0

    def __init__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> None:
        if mode == "r":
            CountingZipFile.opened += 1
        super().__init__(file, mode, *args, **kwargs)


@pytest.fixture
def count_opens(monkeypatch: pytest.MonkeyPatch) -> type[CountingZipFile]:
    CountingZipFile.opened = 0
    monkeypatch.setattr(zipfile, "ZipFile", CountingZipFile)
    return CountingZipFile


def many_entries(n: int, skipped: str = "other/{i:05d}.bin") -> bytes:
    """`n` tiny entries that are read and then refused (empty), `n` that are skipped unread
    (by default of an unsupported type), and one real document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"empty/{i:05d}.txt", "")
            zf.writestr(skipped.format(i=i), b"\x00")
        zf.writestr("real/smoothing.md", REAL_DOC)
    return buffer.getvalue()


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def odd_archive() -> bytes:
    """A good document beside a nested archive, a symbolic link and a name with a newline."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("inside.md", "# Inside\n\nA document in a nested archive.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("good.md", REAL_DOC)
        zf.writestr("bundle/inner.zip", inner.getvalue())
        zf.writestr(symlink_info("passwd.md"), "/etc/passwd")
        zf.writestr("bad\nname.md", "# Bad name\n\nA document whose name holds a newline.")
        zf.writestr("tab\tname.txt", "A note whose name holds a tab.")
    return buffer.getvalue()


# -- each archive opened once ------------------------------------------------------------
def test_an_archive_is_opened_a_bounded_number_of_times(
    kb: KnowledgeBase, tmp_path: Path, count_opens: type[CountingZipFile]
) -> None:
    archive = tmp_path / "big.zip"
    archive.write_bytes(many_entries(3000))
    count_opens.opened = 0
    report = ingest_paths(kb, [archive])
    assert report.added == 1
    assert len(report.failed) == 3000  # the empty entries, each named
    assert count_opens.opened <= 2, count_opens.opened  # was one per entry read (3,002)
    again = ingest_paths(kb, [archive, archive])  # an archive given twice: still bounded
    assert again.unchanged == 2
    assert count_opens.opened <= 2 + 4


def test_several_archives_in_a_folder_are_each_opened_a_few_times(
    kb: KnowledgeBase, tmp_path: Path, count_opens: type[CountingZipFile]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for n in range(3):
        (folder / f"part{n}.zip").write_bytes(many_entries(200))
    count_opens.opened = 0
    report = ingest_paths(kb, [folder])
    assert report.added == 3  # the same document in three archives: three origins
    assert count_opens.opened <= 2 * 3, count_opens.opened


def test_an_uploaded_archive_is_opened_a_bounded_number_of_times(
    tmp_path: Path, fake_embedder: Embedder, count_opens: type[CountingZipFile]
) -> None:
    data = many_entries(1500, skipped="__MACOSX/._{i:05d}.txt")  # others are refused
    with running_client(tmp_path, fake_embedder, zip_max_entries=5000) as client:
        count_opens.opened = 0
        response = client.post(
            "/ingest", files=files_part({"big.zip": data}), headers=auth("organiser")
        )
        assert response.status_code == 202, response.text
        job = wait_for_job(client, response.json()["job_id"])
    assert job["state"] == "done"
    assert job["summary"]["added"] == 1 and len(job["summary"]["failed"]) == 1500
    assert count_opens.opened <= 3, count_opens.opened  # the check, then the ingest


# -- entries refused with a reason -------------------------------------------------------
def test_the_cli_reports_nested_archives_links_and_control_characters(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    archive = tmp_path / "odd.zip"
    archive.write_bytes(odd_archive())
    report = ingest_paths(kb, [archive])
    failed = {f["path"]: f["error"] for f in report.failed}
    assert "nested archives are not opened" in failed["odd.zip/bundle/inner.zip"]
    assert "symbolic link" in failed["odd.zip/passwd.md"]
    assert "control characters" in failed["odd.zip/bad\\nname.md"]
    assert "control characters" in failed["odd.zip/tab\\tname.txt"]
    assert report.added == 1
    sources = [d.source for d in kb.list_documents()]
    assert sources == ["odd.zip/good.md"]


def test_kb_ingest_exits_1_naming_each_refused_entry_on_one_line(tmp_path: Path) -> None:
    from api.cli import main

    archive = tmp_path / "odd.zip"
    archive.write_bytes(odd_archive())
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path / "home"), "ingest", str(archive), "--json"]
    )
    assert result.exit_code == 1, result.output
    assert "bad\\\\nname.md" in result.stdout  # escaped in the name, then again by JSON


@pytest.mark.parametrize(
    ("entries", "kind", "named", "says"),
    [
        (
            {"a.md": "# A", "inner.zip": b"PK\x05\x06" + b"\x00" * 18},
            "unsupported",
            "up.zip/inner.zip",
            "nested",
        ),
        (
            {"a.md": "# A", symlink_info("link.md"): "/etc/passwd"},
            "invalid",
            "up.zip/link.md",
            "symbolic link",
        ),
        (
            {"a.md": "# A", "bad\nname.md": "# B"},
            "invalid",
            "up.zip/bad\\nname.md",
            "control characters",
        ),
        (
            {"a.md": "# A", "rtl\u202egpj.md": "# B"},
            "invalid",
            "up.zip/rtl\\u202egpj.md",
            "control characters",
        ),
    ],
)
def test_uploads_refuse_the_same_entries(
    tmp_path: Path, entries: dict[Any, Any], kind: str, named: str, says: str
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    limits = UploadLimits(10, 10**6, 10**7, 100, 10**7)
    with pytest.raises(UploadRefused) as info:
        spool_uploads([IncomingFile("up.zip", io.BytesIO(buffer.getvalue()))], tmp_path, limits)
    assert info.value.kind == kind
    assert info.value.file == named
    assert says in info.value.message and "\n" not in info.value.message


def test_uploads_refuse_a_file_name_with_control_characters(tmp_path: Path) -> None:
    limits = UploadLimits(10, 10**6, 10**7, 100, 10**7)
    with pytest.raises(UploadRefused) as info:
        spool_uploads([IncomingFile("two\nlines.md", io.BytesIO(b"# A"))], tmp_path, limits)
    assert info.value.kind == "invalid" and "control characters" in info.value.message
    assert "\n" not in info.value.message


def test_one_survey_sorts_every_entry_for_every_caller() -> None:
    """The CLI, uploads and catalogue uploads all read archives through `survey`."""
    with zipfile.ZipFile(io.BytesIO(odd_archive())) as zf:
        found = survey(zf, "odd.zip", ArchiveLimits(100, 10**7, max_entry_bytes=40))
    kinds = {refused.shown: refused.kind for refused in found.refused}
    assert kinds == {
        "odd.zip/good.md": "too_big",
        "odd.zip/bundle/inner.zip": "archive",
        "odd.zip/passwd.md": "symlink",
        "odd.zip/bad\\nname.md": "control",
        "odd.zip/tab\\tname.txt": "control",
    }
    assert found.entries == []
    with zipfile.ZipFile(io.BytesIO(odd_archive())) as zf:
        with pytest.raises(ArchiveRefused) as too_many:
            survey(zf, "odd.zip", ArchiveLimits(max_entries=4, max_unpacked_bytes=10**7))
        assert too_many.value.kind == "too_many"
        with pytest.raises(ArchiveRefused) as bomb:
            survey(zf, "odd.zip", ArchiveLimits(max_entries=100, max_unpacked_bytes=100))
        assert bomb.value.kind == "too_big"


def test_a_catalogue_archive_gets_the_same_entry_checks(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        response = client.put(
            "/catalog", files=files_part({"c.zip": odd_archive()}), headers=auth("admin")
        )
    assert response.status_code == 422
    messages = {f["file"]: f["message"] for f in response.json()["error"]["faults"]}
    assert "nested archives are not opened" in messages["c.zip/bundle/inner.zip"]
    assert "symbolic link" in messages["c.zip/passwd.md"]
    assert "control characters" in messages["c.zip/bad\\nname.md"]
